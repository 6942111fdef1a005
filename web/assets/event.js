// One workshop: what, when (in the event's own zone, named), places left, and the
// registration form with the event's questions, consent and the honeypot. Members-only
// workshops ask members to sign in first.
import { apiUrl, request } from "./api.js";
import { signIn, signOut, SignInError, user } from "./auth.js";
import { $, el, params, say } from "./dom.js";
import { enhance, showErrors, values } from "./forms.js";
import { seats } from "./seats.js";
import { answersFrom, questionFields } from "./questions.js";

// What the API's 303 (a form post, or the confirm link) says, as ?registration=<status>.
const OUTCOMES = {
  pending_confirmation: ["Thank you. Check your email: we have sent you a link to confirm your place.", "ok"],
  confirmed: ["Your place is confirmed. We have emailed you the details and a calendar file.", "ok"],
  waitlisted: ["The workshop is full, so you are on the waiting list. We email you if a place comes up.", "warn"],
  offered: ["A place is waiting for you: confirm it from the link in your email.", "ok"],
  cancelled: ["Your registration is cancelled. Thank you for letting us know.", "info"],
};

const state = { event: null };

async function main() {
  const id = params().get("id");
  const status = $("#status");
  if (!id) {
    say(status, "No workshop is named in the address. Choose one from the list of workshops.", "error");
    return;
  }
  const outcome = OUTCOMES[params().get("registration")];
  try {
    const { data } = await request(`/events/${encodeURIComponent(id)}`);
    state.event = data;
  } catch (error) {
    say(status, error.status === 404 ? "There is no such workshop." : error.message, "error");
    return;
  }
  render(state.event);
  if (outcome) {
    say(status, outcome[0], outcome[1]);
    status.focus();
  }
}

function render(event) {
  document.title = `${event.title} – Community Space`;
  $("#title").textContent = event.title;
  $("#when").textContent = event.when; // e.g. "11:00-12:30 BST, Thursday 22 July 2021"
  $("#seats").replaceChildren(seats(event));
  $("#audience").textContent = event.audience === "members" ? "Members of the community" : "Everyone is welcome";
  $("#summary").textContent = event.summary;
  $("#badges").replaceChildren(
    event.audience === "members" ? el("span", { class: "badge badge-members" }, "Members only") : "");
  $("#event").hidden = false;
  renderRegistration(event);
}

async function renderRegistration(event) {
  const form = $("#registration");
  const signInForm = $("#sign-in");
  const regStatus = $("#register-status");
  if (event.status === "cancelled") {
    form.hidden = signInForm.hidden = true;
    say(regStatus, "This workshop is cancelled.", "warn");
    return;
  }
  if (!event.registration_open) {
    form.hidden = signInForm.hidden = true;
    say(regStatus, "Registration for this workshop is closed.", "info");
    return;
  }
  const member = user();
  $("#member-bar").hidden = !member;
  if (member) $("#member-name").textContent = member.name || member.email;
  if (event.audience === "members" && !member) {
    form.hidden = true;
    signInForm.hidden = false;
    return;
  }
  signInForm.hidden = true;
  // The form's action works without JavaScript (a form post, 303 back here).
  form.action = await apiUrl(`/events/${encodeURIComponent(event.id)}/registrations`);
  $("#questions").replaceChildren(...questionFields(event.questions));
  // A member's email comes from their account.
  const emailField = $("#email-field");
  emailField.hidden = Boolean(member);
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
      const kind = data.status === "waitlisted" ? "warn" : "ok";
      form.hidden = true;
      const regStatus = $("#register-status");
      say(regStatus, data.message || OUTCOMES[data.status]?.[0] || "Thank you.", kind);
      regStatus.focus();
      refreshSeats();
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
      await renderRegistration(state.event);
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

async function refreshSeats() {
  try {
    const { data } = await request(`/events/${encodeURIComponent(state.event.id)}`);
    state.event = data;
    $("#seats").replaceChildren(seats(data));
  } catch {
    // The old count stays; the registration itself has succeeded.
  }
}

setUp();
main();
