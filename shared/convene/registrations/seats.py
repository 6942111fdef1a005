"""Seat accounting: the transactions that take, pass and free seats.

The event item's `seats_taken` counts confirmed registrations and open offers. Every
change to it is one DynamoDB transaction with the registration that takes or frees the
seat and the email about it, with conditions on the event (capacity, openness, who
waits), so no interleaving of requests can seat more people than there are seats or
leave a seat empty while someone waits and registration is open:

- place confirmations (a batch, oldest first): free seats first, while nobody waits;
  then waiting-list tickets from a counter moved in the same transaction; all of it only
  if the counters are still as read;
- give a seat back: it passes straight to the first on the waiting list (an offer held
  for 24 hours, never past the close of registration), or, when nobody waits or
  registration has closed, seats_taken goes down;
- seats added (capacity raised): offers to the waiting list, one transaction each.

Contention on the event item is expected: a failed condition means "decide again on the
event as it now is", a transaction conflict means "try again shortly"; both are bounded
(table.attempts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from convene.db import TransactionCancelled
from convene.errors import Conflict, Gone, NotFound
from convene.registrations import emails, table
from convene.registrations.models import SEATED, Registration
from convene.registrations.table import Contention, EventState

OFFER_HOLDS_FOR = timedelta(hours=24)

# Extra entries to add to a placing transaction, given the registration as it will be.
Extra = Callable[[Registration], list[dict[str, Any]]]


class RegistrationChanged(Exception):
    """The registration was changed by someone else since it was read."""


class ExtraRefused(Exception):
    """An entry the caller added to the placing transaction (`before`: a new
    registration's person item) was refused. `found` is that item as it is (None if it is
    gone), handed back by DynamoDB: the caller needs no read to see why."""

    def __init__(self, found: dict[str, Any] | None) -> None:
        super().__init__("refused")
        self.found = found


def open_event(event_id: str, now: datetime) -> EventState:
    """The event, if one may register for it now; otherwise the error that says why."""
    return check_open(table.load_event(event_id), now)


def check_open(state: EventState | None, now: datetime) -> EventState:
    if state is None or state.event.status == "draft":
        raise NotFound("There is no such event.")
    event = state.event
    if event.status == "cancelled":
        raise Gone("This event was cancelled.", code="event_cancelled")
    if now >= event.registration_closes_at:
        raise Gone("Registration for this event has closed.", code="registration_closed")
    return state


def _full() -> Conflict:
    return Conflict("This event is full and has no waiting list.", code="event_full")


def offer_until(state: EventState, now: datetime) -> datetime | None:
    """How long an offer made now holds its seat: 24 hours, never past the close of
    registration. None when no offer may go out (closed, cancelled)."""
    event = state.event
    if event.status != "published" or now >= event.registration_closes_at:
        return None
    return min(now + OFFER_HOLDS_FOR, event.registration_closes_at)


def place(
    reg: Registration,
    now: datetime,
    *,
    read_version: int | None,
    before: Extra | None = None,
    state: EventState | None = None,
) -> Registration:
    """Confirms `reg` into a free seat, or puts it on the waiting list with the next
    ticket; the registration as placed. `read_version` is the stored version (None: `reg`
    is new). `before` adds entries (the person item of a new registration) to the
    transaction that stores it; if one is refused, ExtraRefused says what it found.
    `state`: the event as the caller just read it (else it is read here).

    When nobody else is being placed, one transaction places `reg` at once. Otherwise (a
    crowd), or when that transaction loses a race, two steps: the registration is marked
    as confirming (its own item: no contention), then placed in a batch: one transaction
    seats (or queues) up to BATCH confirming registrations, oldest first, whoever's
    request runs it. A crowd confirming at once thus shares a few transactions on the
    event item instead of racing for it one by one, nobody overtakes those already
    waiting to be placed, and each request returns as soon as its own registration is
    placed."""
    state = check_open(state, now) if state is not None else open_event(reg.event_id, now)
    if state.event.seats_left == 0 and not state.event.waitlist:
        raise _full()
    if read_version is not None and reg.confirming_since is not None:
        return _place_queued(reg, now, known=state)  # a second click while being placed
    queue = table.confirming(reg.event_id, limit=BATCH)
    if any(r.id != reg.id and r.confirming_since is not None for r in queue):
        marked = _mark_confirming(reg, now, read_version, before)
        return _place_queued(marked, now, known=state, queue=queue)
    placed, known = _place_alone(reg, state, now, read_version, before)
    if placed is not None:
        return placed
    marked = _mark_confirming(reg, now, read_version, before)
    return _place_queued(marked, now, known=known)


def _place_alone(
    reg: Registration,
    state: EventState,
    now: datetime,
    read_version: int | None,
    before: Extra | None,
) -> tuple[Registration | None, EventState | None]:
    """One transaction: `reg` straight from unconfirmed (or new) to placed. (None, the
    event as it now is) when it lost a race on the event item: the caller queues it."""
    placed, entries, seats, waiting = _seat_or_queue(
        state, [reg], now, read_versions={reg.id: read_version}
    )
    if not placed:
        raise _full()
    extra = before(placed[0]) if before else []
    items = [table.place_batch(state, seats=seats, waiting=waiting, now=now), *entries, *extra]
    try:
        table.transact(items)
    except Contention:
        return None, None
    except TransactionCancelled as exc:
        first_extra = 1 + len(entries)
        if any(exc.failed(first_extra + i) for i in range(len(extra))):
            raise ExtraRefused(table.item_after_failure(exc, first_extra)) from exc
        if exc.failed(1):
            raise RegistrationChanged(reg.id) from exc
        return None, table.event_after_failure(exc, 0) if exc.failed(0) else None
    return placed[0], None


BATCH = 24  # three entries each (registration, token, email) + the event: under 100


def _mark_confirming(
    reg: Registration, now: datetime, read_version: int | None, before: Extra | None
) -> Registration:
    if read_version is not None and reg.confirming_since is not None:
        return reg  # a second click while the first is being placed
    marked = reg.model_copy(update={"confirming_since": now, "version": reg.version + 1})
    extra = before(marked) if before else []
    assert marked.confirm_by is not None
    until = int((marked.confirm_by + timedelta(days=1)).timestamp())
    items = [*extra, table.put_registration(marked, expires_at=until, read_version=read_version)]
    for _ in table.attempts(10):
        try:
            table.transact(items)
        except Contention:
            continue
        except TransactionCancelled as exc:
            if any(exc.failed(i) for i in range(len(extra))):
                raise ExtraRefused(table.item_after_failure(exc, 0)) from exc
            raise RegistrationChanged(reg.id) from exc
        return marked
    raise AssertionError("unreachable")


def _place_queued(
    mine: Registration,
    now: datetime,
    *,
    known: EventState | None = None,
    queue: list[Registration] | None = None,
) -> Registration:
    """Places `mine` (marked as confirming) in a batch. `known` and `queue`: the event and
    the confirming registrations as the caller just read them, for the first attempt
    (`mine` is then as the caller wrote or read it)."""
    stale: set[str] = set()
    current: Registration | None = mine
    for _ in table.attempts():
        if current is None:
            current = table.get_registration(mine.id)
            if current is None:
                raise NotFound("There is no such registration.")
        if current.state != "pending_confirmation":
            return current  # placed: by this request or by another one's batch
        try:
            state = check_open(known, now) if known else open_event(mine.event_id, now)
        except Gone:
            _unmark(current)
            raise
        known = None
        confirming = queue if queue is not None else table.confirming(mine.event_id, limit=BATCH)
        queue = None
        batch = [current] + [
            r
            for r in confirming
            if r.id != current.id and r.id not in stale and r.confirming_since is not None
        ]
        batch.sort(key=lambda r: (r.confirming_since or now, r.id))
        placed, entries, seats, waiting = _seat_or_queue(state, batch[:BATCH], now)
        full = state.event.seats_left == 0 and not state.event.waitlist
        if full and not any(p.id == mine.id for p in placed):
            _unmark(current)
            raise _full()
        items = [table.place_batch(state, seats=seats, waiting=waiting, now=now), *entries]
        try:
            table.transact(items)
        except Contention:
            current = None
            continue
        except TransactionCancelled as exc:
            if exc.failed(0):
                known = table.event_after_failure(exc, 0)  # decide again on the event as it is
            for index, reg in enumerate(placed):
                if reg.id != mine.id and exc.failed(1 + 3 * index):
                    stale.add(reg.id)  # changed since the index was read: its owner's turn
            current = None
            continue
        for reg in placed:
            if reg.id == mine.id:
                return reg
        current = None  # older ones filled the batch: read it again, then the next batch
    raise AssertionError("unreachable")


def _seat_or_queue(
    state: EventState,
    batch: list[Registration],
    now: datetime,
    *,
    read_versions: dict[str, int | None] | None = None,
) -> tuple[list[Registration], list[dict[str, Any]], int, int]:
    """Free seats first, then the waiting list, in the order of the batch. Returns the
    registrations as placed, their transaction entries (three each: registration, token,
    email), and the seats and tickets used. `read_versions`: the stored version of a
    registration when it is not `reg.version` (None: not stored yet)."""
    read_versions = read_versions or {}
    event = state.event
    free = event.capacity - event.seats_taken if state.waiting == 0 else 0
    placed: list[Registration] = []
    entries: list[dict[str, Any]] = []
    seats = waiting = 0
    for reg in batch:
        common = {
            "confirming_since": None,
            "confirm_by": None,
            "updated_at": now,
            "version": reg.version + 1,
        }
        if seats < free:
            seats += 1
            done = reg.model_copy(update={**common, "state": "confirmed", "confirmed_at": now})
            mail = emails.confirmed(done, event, now)
        elif event.waitlist:
            waiting += 1
            done = reg.model_copy(
                update={
                    **common,
                    "state": "waitlisted",
                    "position": state.waitlist_next + waiting,
                    # Everyone still waiting is ahead of a new ticket.
                    "joined_place": state.waiting + waiting,
                }
            )
            mail = emails.waitlisted(done, event, state.waiting + waiting, now)
        else:
            break
        done = emails.tracked(done, mail)
        placed.append(done)
        entries += [
            table.put_registration(
                done,
                expires_at=emails.expires_at(event),
                read_version=read_versions.get(reg.id, reg.version),
            ),
            *mail,
        ]
    return placed, entries, seats, waiting


def _unmark(reg: Registration) -> None:
    """No place can be had (full, closed, cancelled): the registration stops waiting for
    one (best effort; it expires in any case)."""
    if reg.confirming_since is None or reg.confirm_by is None:
        return
    back = reg.model_copy(update={"confirming_since": None, "version": reg.version + 1})
    until = int((reg.confirm_by + timedelta(days=1)).timestamp())
    with contextlib.suppress(Contention, TransactionCancelled):
        table.transact([table.put_registration(back, expires_at=until, read_version=reg.version)])


def release(
    reg: Registration,
    to: str,
    now: datetime,
    *,
    notify: bool = True,
    state: EventState | None = None,
) -> Registration:
    """`reg` leaves (to "cancelled" or "lapsed"). A seat it held passes to the first on
    the waiting list while registration is open; otherwise it is freed. `notify`: email
    the registrant who leaves (not when they asked for their data to be erased). `state`:
    the event as the caller just read it, for the first attempt."""
    tried: list[str] = []
    known = state
    for _ in table.attempts():
        state, known = known or table.load_event(reg.event_id), None
        if state is None:
            raise NotFound("There is no such event.")
        event = state.event
        left = reg.model_copy(
            update={
                "state": to,
                "cancelled_at": now if to == "cancelled" else reg.cancelled_at,
                "updated_at": now,
                "version": reg.version + 1,
            }
        )
        mail = (emails.cancelled if to == "cancelled" else emails.offer_lapsed)(left, event, now)
        if not notify:
            mail = []
        leaving = [
            table.put_registration(
                left, expires_at=emails.expires_at(event), read_version=reg.version
            ),
            *mail,
        ]
        passing: list[dict[str, Any]] = []
        nxt: Registration | None = None
        if reg.state in SEATED:
            until = offer_until(state, now)
            nxt = table.first_waiting(event.id, skip=tried) if until and state.waiting else None
            if until and nxt is not None:
                offered = _offered(nxt, until, now)
                offer_mail = emails.offer(offered, event, now)
                offered = emails.tracked(offered, offer_mail)
                event_entry = table.pass_seat(state)
                passing = [
                    table.put_registration(
                        offered, expires_at=emails.expires_at(event), read_version=nxt.version
                    ),
                    *offer_mail,
                ]
            else:
                event_entry = table.free_seat(state, now)
        elif reg.state == "waitlisted":
            event_entry = table.leave_waitlist(state)
        else:
            event_entry = None
        items = ([event_entry] if event_entry else []) + leaving + passing
        try:
            table.transact(items)
        except Contention:
            continue
        except TransactionCancelled as exc:
            offset = 1 if event_entry else 0
            if exc.failed(offset):
                raise RegistrationChanged(reg.id) from exc
            if nxt is not None and exc.failed(offset + len(leaving)):
                tried.append(nxt.id)  # they moved on meanwhile: the next one, then
            continue
        return left
    raise AssertionError("unreachable")


def _offered(reg: Registration, until: datetime, now: datetime) -> Registration:
    return reg.model_copy(
        update={
            "state": "offered",
            "offered_at": now,
            "offer_expires_at": until,
            "updated_at": now,
            "version": reg.version + 1,
        }
    )


def accept_offer(
    reg: Registration, now: datetime, *, state: EventState | None = None
) -> Registration:
    """An offer accepted in time: the seat it held is the registrant's. `state`: the event
    as the caller just read it."""
    if reg.offer_expires_at is None or now >= reg.offer_expires_at:
        raise Gone("This offer has lapsed; the seat went to the next person.", code="offer_lapsed")
    state = state or table.load_event(reg.event_id)
    if state is None:
        raise NotFound("There is no such event.")
    if state.event.status == "cancelled":
        raise Gone("This event was cancelled.", code="event_cancelled")
    accepted = reg.model_copy(
        update={
            "state": "confirmed",
            "confirmed_at": now,
            "updated_at": now,
            "version": reg.version + 1,
        }
    )
    mail = emails.confirmed(accepted, state.event, now)
    accepted = emails.tracked(accepted, mail)
    items = [
        table.put_registration(
            accepted, expires_at=emails.expires_at(state.event), read_version=reg.version
        ),
        *mail,
    ]
    for _ in table.attempts(10):
        try:
            table.transact(items)
        except Contention:
            continue
        except TransactionCancelled as exc:
            raise RegistrationChanged(reg.id) from exc
        return accepted
    raise AssertionError("unreachable")


def fill_free_seats(event_id: str, now: datetime, *, limit: int = 25) -> int:
    """Offers free seats (capacity raised) to the waiting list, first come first served.
    Bounded per call; the scheduled run tops up the rest. Returns offers made."""
    made = 0
    tried: list[str] = []
    for attempt in range(limit * 4):
        if made >= limit:
            break
        table.pause(attempt)
        state = table.load_event(event_id)
        if state is None:
            break
        until = offer_until(state, now)
        event = state.event
        if until is None or event.seats_taken >= event.capacity or state.waiting <= 0:
            break
        nxt = table.first_waiting(event_id, skip=tried)
        if nxt is None:
            break
        offered = _offered(nxt, until, now)
        mail = emails.offer(offered, event, now)
        offered = emails.tracked(offered, mail)
        items = [
            table.offer_free_seat(state, now),
            table.put_registration(
                offered, expires_at=emails.expires_at(event), read_version=nxt.version
            ),
            *mail,
        ]
        try:
            table.transact(items)
        except Contention:
            continue
        except TransactionCancelled as exc:
            if exc.failed(1):
                tried.append(nxt.id)
            continue
        made += 1
    return made
