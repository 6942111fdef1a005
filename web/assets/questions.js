// An event's own questions as form fields. Each answer is posted as `answer_<id>` (a form
// post) and sent as answers[id] (JSON); the API's errors name them `answers.<id>`.
import { el } from "./dom.js";

export function questionFields(questions, answers = {}) {
  return questions.map((q) => field(q, answers[q.id]));
}

function field(q, answer) {
  const id = `q-${q.id}`;
  const name = `answer_${q.id}`;
  const required = q.required ? { required: true, "aria-required": "true" } : {};
  const label = q.required ? q.label : `${q.label} (optional)`;
  if (q.kind === "text" || q.kind === "long_text") {
    const input = q.kind === "text"
      ? el("input", { id, name, type: "text", maxlength: 500, ...required })
      : el("textarea", { id, name, maxlength: 5000, rows: 4, ...required });
    if (answer) input.value = answer;
    return el("div", { class: "field" }, el("label", { for: id, "data-name": q.label }, label), input);
  }
  if (q.kind === "checkbox") {
    return el("div", { class: "field" },
      el("label", { class: "check", for: id, "data-name": q.label },
        el("input", { id, name, type: "checkbox", value: "on", checked: answer === true, ...required }),
        el("span", {}, label)));
  }
  // choice (radio buttons) or choices (checkboxes), in a fieldset with a legend.
  const type = q.kind === "choice" ? "radio" : "checkbox";
  const picked = new Set(Array.isArray(answer) ? answer : answer ? [answer] : []);
  return el("fieldset", { class: "question", id: `${id}-group` },
    el("legend", { "data-name": q.label }, label),
    q.options.map((option, i) =>
      el("label", { class: "check", for: `${id}-${i}` },
        el("input", {
          id: `${id}-${i}`, name, type, value: option, checked: picked.has(option),
          ...(type === "radio" ? required : {}),
        }),
        el("span", {}, option))),
  );
}

/** The answers object the JSON API takes, from the form. */
export function answersFrom(form, questions) {
  const answers = {};
  for (const q of questions) {
    const name = `answer_${q.id}`;
    if (q.kind === "checkbox") {
      answers[q.id] = Boolean(form.elements.namedItem(name)?.checked);
    } else if (q.kind === "choices") {
      answers[q.id] = [...form.querySelectorAll(`[name="${name}"]:checked`)].map((i) => i.value);
    } else if (q.kind === "choice") {
      const picked = form.querySelector(`[name="${name}"]:checked`);
      if (picked) answers[q.id] = picked.value;
    } else {
      const value = form.elements.namedItem(name)?.value.trim();
      if (value) answers[q.id] = value;
    }
  }
  return answers;
}
