// "12 of 30 places left", "Full: waiting list open", "Cancelled".
import { el } from "./dom.js";

export function seats(event) {
  if (event.status === "cancelled") return el("span", { class: "badge badge-full" }, "Cancelled");
  if (event.seats_left > 0) {
    return el("span", {}, `${event.seats_left} of ${event.capacity} places left`);
  }
  return el("span", { class: "badge badge-full" }, event.waitlist ? "Full: waiting list open" : "Full");
}
