// The comments policy and its reasons, from GET /comment-policy (the same reason codes the
// moderators choose from).
import { request } from "./api.js";
import { $, el, say } from "./dom.js";

async function main() {
  try {
    const { data } = await request("/comment-policy");
    $("#policy-title").textContent = data.title;
    $("#policy-text").replaceChildren(...data.text.split(/\n{2,}/).map((p) => el("p", {}, p)));
    $("#reasons").replaceChildren(...data.reason_codes.flatMap((r) => [
      el("dt", { id: `reason-${r.code}` }, r.label),
      el("dd", {}, r.description),
    ]));
  } catch (error) {
    say($("#status"), error.message, "error");
  }
}

main();
