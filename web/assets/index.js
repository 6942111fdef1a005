// The upcoming workshops: GET /events.
import { request } from "./api.js";
import { $, el, say } from "./dom.js";
import { seats } from "./seats.js";

async function main() {
  const list = $("#events");
  const status = $("#status");
  say(status, "Loading the workshops…");
  try {
    const { data } = await request("/events");
    say(status, data.items.length ? "" : "No workshops are planned just now: check back soon.");
    list.replaceChildren(...data.items.map(card));
  } catch (error) {
    say(status, error.message, "error");
  }
}

function card(event) {
  const href = `/event.html?id=${encodeURIComponent(event.id)}`;
  return el("li", { class: "card" },
    el("h3", {}, el("a", { href }, event.title)),
    el("p", {}, el("strong", {}, event.when)),
    el("p", {}, event.summary),
    el("p", { class: "actions" },
      event.audience === "members" ? el("span", { class: "badge badge-members" }, "Members only") : "",
      seats(event)),
  );
}

main();
