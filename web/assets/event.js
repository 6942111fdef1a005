// One workshop's page (rendered from the API by infra/site: the generator, or the twin on
// request): what, when (in the event's own zone, named), places left, and the registration
// form with the event's questions, consent and the honeypot. The page works without this
// script (the form posts, the API answers 303 back); this script enhances it:
//   - the form sends JSON, shows the API's errors next to each field, registers once
//     however often it is submitted (forms.js);
//   - members-only workshops ask members to sign in first (Cognito);
//   - the places left and the registration state are refreshed from the API.
// On event.html (no event in the page: what a static host has for ?id=) it goes to the
// workshop's own page, keeping the rest of the address.
import { latestOnly } from "./api.js";
import { signIn, signOut, SignInError, user } from "./auth.js";
import { $, $$, params, say } from "./dom.js";
import { enhance, showErrors, values } from "./forms.js";
import { seats } from "./seats.js";
import { answersFrom } from "./questions.js";

const state = { event: null, registered: false };
// The page's first answer arriving after a later one is dropped: the places left never go
// back to an older count.
const fetchEvent = latestOnly();

/** The message the page carries for a registration status (#registration-<status>). */
function outcome(status) {
  const node = status && document.getElementById(`registration-${status}`);
  if (!node) return null;
  const kind = [...node.classList].find((c) => c.startsWith("notice-"))?.slice("notice-".length);
  return [node.textContent.trim(), kind || "info"];
}

function shell() {
  const id = params().get("id");
  if (!id) {
    say($("#status"), "No workshop is named in the address. Choose one from the list of workshops.", "error");
    return;
  }
  const rest = params();
  rest.delete("id");
  const query = rest.toString();
  window.location.replace(
    `/workshops/${encodeURIComponent(id)}/${query ? `?${query}` : ""}${window.location.hash}`);
}

function main() {
  const data = $("#event-data");
  if (!data) {
    if (document.body.hasAttribute("data-shell")) shell();
    return;
  }
  state.event = JSON.parse(data.textContent);
  // The outcome after the API's 303 goes in the live region, once.
  $(".outcomes").hidden = true;
  const after = outcome(params().get("registration"));
  if (after) {
    const status = $("#status");
    say(status, after[0], after[1]);
    status.focus();
  }
  setUp();
  renderRegistration(state.event);
  refresh();
}

/** Shows the form, the sign-in or the closed notice, as the event and the reader are. */
function renderRegistration(event) {
  const form = $("#registration");
  const signInForm = $("#sign-in");
  const cancelled = event.status === "cancelled";
  const open = event.registration_open && !cancelled;
  const shown = cancelled ? "cancelled" : open ? null : "closed";
  for (const notice of $$("[data-state]", $("#register"))) {
    notice.hidden = notice.dataset.state !== shown;
  }
  const member = user();
  $("#member-bar").hidden = !member || !open;
  if (member) $("#member-name").textContent = member.name || member.email;
  if (!open) {
    form.hidden = signInForm.hidden = true;
    return;
  }
  if (event.audience === "members" && !member) {
    form.hidden = true;
    signInForm.hidden = false;
    return;
  }
  signInForm.hidden = true;
  // A member's email comes from their account.
  $("#email-field").hidden = Boolean(member);
  $("#reg-email").disabled = Boolean(member);
  if (member && member.name && !$("#reg-name").value) $("#reg-name").value = member.name;
  form.hidden = false;
}

function setUp() {
  const form = $("#registration");
  enhance(form, {
    path: () => `/events/${encodeURIComponent(state.event.id)}/registrations`,
    auth: () => Boolean(user()),
    body: (f) => {
      const v = values(f);
      return {
        name: v.name || "",
        ...(v.email !== undefined ? { email: v.email } : {}),
        consent: Boolean(f.elements.consent.checked),
        answers: answersFrom(f, state.event.questions),
        website: v.website || "",
      };
    },
    onDone: ({ data }) => {
      const [text, kind] = outcome(data.status) || [data.message || "Thank you.", "ok"];
      state.registered = true;
      form.hidden = true;
      const regStatus = $("#register-status");
      say(regStatus, text, kind);
      regStatus.focus();
      refresh();
    },
  });

  const signInForm = $("#sign-in");
  signInForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = signInForm.querySelector("[type=submit]");
    button.disabled = true;
    try {
      await signIn(signInForm.elements.email.value.trim(), signInForm.elements.password.value);
      signInForm.reset();
      renderRegistration(state.event);
      $("#reg-name").focus();
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      showErrors(signInForm, { message: error.message, fields: {} });
    } finally {
      button.disabled = false;
    }
  });
  $("#sign-out").addEventListener("click", () => {
    signOut();
    renderRegistration(state.event);
  });
}

/** The page is a snapshot (a static page may be days old): the places left and whether
 * registration is open come fresh from the API. */
async function refresh() {
  try {
    const answer = await fetchEvent(`/events/${encodeURIComponent(state.event.id)}`);
    if (!answer) return;
    const { data } = answer;
    const changed = data.status !== state.event.status
      || data.registration_open !== state.event.registration_open;
    state.event = data;
    $("#seats").replaceChildren(seats(data));
    if (changed && !state.registered) renderRegistration(data);
  } catch {
    // The page's own count stays.
  }
}

main();
