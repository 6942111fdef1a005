// Progressive enhancement of a plain HTML form that already posts to the API (and so works
// with JavaScript off: the API answers 303 back to the page). With JavaScript on:
//   - the form sends JSON with fetch, with one Idempotency-Key per form render, so a
//     double click or a retry never does the thing twice;
//   - the submit button is disabled while the request is in flight;
//   - the API's errors {"error": {"code", "message", "fields"}} show next to each field
//     (aria-invalid + aria-describedby), and a summary at the top takes the focus.
import { ApiError, newIdempotencyKey, request } from "./api.js";
import { el } from "./dom.js";

/** The field an API error name points at: "email" -> [name=email], "answers.level" ->
 * [name=answer_level] (the form-post name of a question's answer). */
function fieldFor(form, name) {
  const candidates = [name];
  if (name.startsWith("answers.")) candidates.push("answer_" + name.slice("answers.".length));
  for (const candidate of candidates) {
    const field = form.elements.namedItem(candidate);
    if (field) return field instanceof RadioNodeList ? field[0] : field;
  }
  return null;
}

/** Where a field's error goes: its wrapper (.field or fieldset), after the label/input. */
function holderFor(field) {
  return field.closest("fieldset.question, .field") || field.parentElement;
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.remove();
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    const ids = (field.getAttribute("aria-describedby") || "")
      .split(/\s+/)
      .filter((id) => id && !id.endsWith("-error"));
    if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
    else field.removeAttribute("aria-describedby");
  }
  const summary = form.querySelector(".form-summary");
  if (summary) summary.replaceChildren();
}

/** Shows an ApiError: a message per field, and the overall message in the summary. */
export function showErrors(form, error) {
  clearErrors(form);
  const summary = form.querySelector(".form-summary");
  const unplaced = [];
  let first = null;
  for (const [name, message] of Object.entries(error.fields || {})) {
    const field = fieldFor(form, name);
    if (!field || field.type === "hidden" || field.closest(".trap")) {
      unplaced.push(`${name}: ${message}`);
      continue;
    }
    const id = `${field.id || field.name}-error`;
    const text = el("p", { class: "field-error", id }, sentence(field, message));
    holderFor(field).append(text);
    const group = field.closest("fieldset.question");
    const targets = group ? [...group.querySelectorAll("input, select, textarea")] : [field];
    for (const target of targets) {
      target.setAttribute("aria-invalid", "true");
      const ids = new Set((target.getAttribute("aria-describedby") || "").split(/\s+/));
      ids.add(id);
      target.setAttribute("aria-describedby", [...ids].filter(Boolean).join(" "));
    }
    first = first || field;
  }
  if (summary) {
    summary.replaceChildren(
      el("p", { class: "notice notice-error" }, error.message),
      ...unplaced.map((text) => el("p", { class: "field-error" }, text)),
    );
  }
  (first || summary)?.focus();
}

/** A message a reader can act on: "is not an email address" -> "Email is not an email
 * address"; pydantic's "Field required" -> "Email is required"; "agree to ..." -> "Agree to ...". */
function sentence(field, message) {
  const group = field.closest("fieldset.question");
  const source = group ? group.querySelector("legend") : field.labels?.[0];
  const name = (source?.dataset.name || source?.textContent || field.name)
    .replace(/\(optional\)|[*:]/g, "").replace(/\s+/g, " ").trim();
  if (field.name.startsWith("answer_")) {
    if (message === "is required") return "Please answer this question.";
    if (message === "must be ticked") return "Please tick this box.";
  }
  if (/^Field required$|^String should have at least 1 character/.test(message)) {
    return `${name} is required.`;
  }
  if (/^(is|must|at most|at least) /.test(message)) return `${name} ${message}.`;
  return message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? "" : ".");
}

/** Makes `form` send JSON. `body(form)` builds the JSON body; `onDone(result, form)` gets
 * {status, data}; `path()` is the API path to post to; `auth()` says whether to send the
 * signed-in member's token. */
export function enhance(form, { body, onDone, path, auth = () => false }) {
  form.noValidate = true; // the API's messages are the ones shown, next to each field
  let key = newIdempotencyKey();
  let inFlight = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (inFlight) return; // a second click while the first is on its way does nothing
    inFlight = true;
    const button = form.querySelector("[type=submit]");
    const label = button?.textContent;
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.textContent = button.dataset.busy || "Sending…";
    }
    form.setAttribute("aria-busy", "true");
    try {
      const target = path();
      const result = await request(target, {
        method: "POST",
        body: body(form),
        auth: auth(),
        headers: { "Idempotency-Key": key },
      });
      clearErrors(form);
      key = newIdempotencyKey(); // done: another submit is a new request
      await onDone(result, form);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error);
    } finally {
      inFlight = false;
      form.removeAttribute("aria-busy");
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        button.textContent = label;
      }
    }
  });
}

/** The form's fields as an object: one value per name, or a list for checkboxes that
 * share a name; unticked checkboxes are left out. */
export function values(form) {
  const out = {};
  for (const field of form.elements) {
    if (!field.name || field.disabled || field.type === "submit") continue;
    if ((field.type === "checkbox" || field.type === "radio") && !field.checked) continue;
    const many = field.type === "checkbox" && form.querySelectorAll(`[name="${field.name}"]`).length > 1;
    if (many) (out[field.name] ||= []).push(field.value);
    else out[field.name] = field.value;
  }
  return out;
}
