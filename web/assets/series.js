// "Get in touch to help plan future workshops": POST /series/{id}/interest.
import { apiUrl } from "./api.js";
import { $, params, say } from "./dom.js";
import { enhance, values } from "./forms.js";

const seriesId = params().get("id") || "community-space";
const form = $("#interest");
const status = $("#status");
// The API's own URL: on a static host the site and the API are different origins.
form.action = await apiUrl(`/series/${encodeURIComponent(seriesId)}/interest`);
if (params().get("interest") === "received") {
  say(status, "Thank you: the organisers will be in touch.", "ok");
}
enhance(form, {
  path: () => `/series/${encodeURIComponent(seriesId)}/interest`,
  body: (f) => {
    const v = values(f);
    return { name: v.name || "", email: v.email || "", message: v.message || "",
      consent: f.elements.consent.checked, website: v.website || "" };
  },
  onDone: ({ data }) => {
    form.hidden = true;
    say(status, data.message || "Thank you: the organisers will be in touch.", "ok");
    status.focus();
  },
});
