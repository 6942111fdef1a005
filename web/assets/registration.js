// registration.html?id=&token=: the registrant's own view (from the links in their
// emails): the workshop, their status, the joining link once confirmed, the calendar
// file, and cancelling. The page sends no Referer (meta referrer), so the token in its
// address never leaves for another site.
import { apiUrl, request } from "./api.js";
import { $, el, params, say } from "./dom.js";
import { enhance, showErrors } from "./forms.js";

const STATES = {
  pending_confirmation: "Waiting for you to confirm your email (use the link we sent).",
  confirmed: "Confirmed: you have a place.",
  waitlisted: "On the waiting list.",
  offered: "A place is offered to you: confirm it from the link in your email.",
  lapsed: "The offered place has passed to the next person.",
  cancelled: "Cancelled.",
};

const id = params().get("id") || "";
const token = params().get("token") || "";

async function main() {
  const status = $("#status");
  if (!id || !token) {
    say(status, "This link is incomplete. Use the link in your email exactly as it was sent.", "error");
    return;
  }
  try {
    const { data } = await request(`/registrations/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
    await render(data);
  } catch (error) {
    const text = {
      404: "We could not find this registration. The link may be mistyped, or the details were removed after the workshop.",
      410: "This link has expired.",
    }[error.status] || error.message;
    say(status, text, "error");
  }
}

async function render(view) {
  $("#event-title").textContent = view.event.title;
  $("#when").textContent = view.event.when;
  $("#name").textContent = view.name;
  let state = STATES[view.status] || view.status;
  if (view.status === "waitlisted" && view.waitlist_position) state += ` You are number ${view.waitlist_position}.`;
  $("#state").textContent = state;
  if (view.joining_url) {
    const link = $("#joining-link");
    link.href = view.joining_url;
    link.rel = "noopener noreferrer";
    link.textContent = view.joining_url;
    $("#joining").hidden = false;
  }
  $("#calendar").hidden = view.status === "cancelled";
  $("#calendar-link").href = await apiUrl(`${view.calendar_path}?token=${encodeURIComponent(token)}`);
  const labels = Object.fromEntries((view.questions || []).map((q) => [q.id, q.label]));
  const answers = Object.entries(view.answers || {});
  $("#answers-heading").hidden = answers.length === 0;
  $("#answers").replaceChildren(...answers.flatMap(([qid, answer]) => [
    el("dt", {}, labels[qid] || qid),
    el("dd", {}, Array.isArray(answer) ? answer.join(", ") : answer === true ? "Yes" : answer === false ? "No" : answer),
  ]));
  $("#event-link").href = `/workshops/${encodeURIComponent(view.event.id)}/`;
  const cancellable = ["pending_confirmation", "confirmed", "waitlisted", "offered"].includes(view.status);
  $("#cancel-section").hidden = !cancellable || view.event.status === "cancelled";
  $("#view").hidden = false;
}

async function setUp() {
  const form = $("#cancel");
  // The API's own URL: on a static host the site and the API are different origins.
  form.action = await apiUrl(`/registrations/${encodeURIComponent(id)}/cancel`);
  $("#cancel-token").value = token;
  form.addEventListener("submit", (event) => {
    if (!form.elements.sure.checked) {
      event.preventDefault();
      event.stopImmediatePropagation();
      showErrors(form, {
        message: "Tick the box to say you want to cancel.",
        fields: { sure: "Tick this box to cancel your registration." },
      });
    }
  }, { capture: true });
  enhance(form, {
    path: () => `/registrations/${encodeURIComponent(id)}/cancel`,
    body: () => ({ token }),
    onDone: async () => {
      const status = $("#status");
      say(status, "Your registration is cancelled. Thank you for letting us know: your place goes to someone on the waiting list.", "ok");
      status.focus();
      try {
        const { data } = await request(`/registrations/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
        await render(data);
      } catch {
        $("#view").hidden = true;
      }
    },
  });
}

setUp().then(main);
