// The upcoming workshops: the page lists them (rendered from GET /events by infra/site,
// each linking to its own page); this refreshes the places left, since a static page
// may be days old.
import { request } from "./api.js";
import { $$ } from "./dom.js";
import { seats } from "./seats.js";

async function main() {
  const cards = $$(".card[data-event-id]");
  if (!cards.length) return;
  try {
    const { data } = await request("/events");
    const byId = new Map(data.items.map((e) => [e.id, e]));
    for (const card of cards) {
      const event = byId.get(card.dataset.eventId);
      const holder = card.querySelector(".seats");
      if (event && holder) holder.replaceChildren(seats(event));
    }
  } catch {
    // The page's own counts stay.
  }
}

main();
