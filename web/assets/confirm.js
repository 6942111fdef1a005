// confirm.html?token=...: confirms a registration (or accepts a waiting-list offer) with
// POST /registrations/confirm, then shows what it became. The token is read from the
// address once and removed from it (history.replaceState), so it is not left in the
// history or sent on as a Referer.
import { request } from "./api.js";
import { $, params, say } from "./dom.js";

const MESSAGES = {
  confirmed: ["Your place is confirmed. See you there! We have emailed you the details and a calendar file.", "ok"],
  waitlisted: ["The workshop is full, so you are on the waiting list. We email you if a place comes up.", "warn"],
  offered: ["A place is held for you: confirm it from the link in your email.", "ok"],
  cancelled: ["This registration was cancelled.", "info"],
};

async function main() {
  const status = $("#status");
  const token = params().get("token");
  if (!token) {
    say(status, "This link has no token. Use the link in your email exactly as it was sent.", "error");
    return;
  }
  history.replaceState(null, "", window.location.pathname);
  say(status, "Confirming your place…");
  try {
    const { data } = await request("/registrations/confirm", { method: "POST", body: { token } });
    const [text, kind] = MESSAGES[data.status] || [data.message, "info"];
    let message = text;
    if (data.status === "waitlisted" && data.waitlist_position) {
      message += ` You are number ${data.waitlist_position} on the list.`;
    }
    say(status, message, kind);
    $("#event-link").href = `/workshops/${encodeURIComponent(data.event_id)}/`;
    $("#next").hidden = false;
    document.title = "Place confirmed – Community Space";
  } catch (error) {
    const text = {
      404: "We could not find this registration. The link may be mistyped or already removed.",
      410: "This link has expired, or registration has closed. You can register again from the workshop's page.",
    }[error.status] || error.message;
    say(status, text, "error");
  }
  status.focus();
}

main();
