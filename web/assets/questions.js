// An event's own questions: the page renders them as form fields (infra/site's
// templates/macros.html), each answer posted as `answer_<id>` (a form post). This turns
// them into the answers[id] object the JSON API takes; the API's errors name them
// `answers.<id>`.

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
