"""Organisers' tools for an event's registrants: the attendee list (JSON or CSV), a
message to some of them, cancelling the event, and what follows an edit of the event
(offers when the capacity went up, a notice when the time changed).

Capacity and time are edited through events.service.update_event (a capacity below the
seats taken is refused there); `after_event_update` is called right after, and the
scheduled run calls the same checks, so nothing depends on the request finishing.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from convene.db import TransactionCancelled
from convene.errors import Gone, NotFound
from convene.events.models import PublicQuestion
from convene.registrations import notices, retention, seats, table
from convene.registrations.models import (
    ACTIVE,
    AUDIENCES,
    Attendee,
    AttendeeList,
    MessageIn,
    NoticeResult,
    Registration,
)
from convene.registrations.table import EventState

# The list is read in pages of 1 MB at most; a workshop's registrants fit in a few.
MAX_ATTENDEES = 5000
_PAGE = 500


def _event(event_id: str) -> EventState:
    state = table.load_event(event_id)
    if state is None:
        raise NotFound("There is no such event.")
    return state


# ---------------------------------------------------------------- the attendee list


def attendees(event_id: str) -> AttendeeList:
    state = _event(event_id)
    regs: list[Registration] = []
    start = None
    while len(regs) < MAX_ATTENDEES:
        page, start = table.all_registrations(event_id, limit=_PAGE, start_key=start)
        regs.extend(page)
        if not start:
            break
    waiting = sorted((r for r in regs if r.state == "waitlisted"), key=lambda r: r.position or 0)
    place = {r.id: i + 1 for i, r in enumerate(waiting)}
    order = {
        s: i for i, s in enumerate(("confirmed", "offered", "waitlisted", "pending_confirmation"))
    }
    regs.sort(key=lambda r: (order.get(r.state, 9), r.position or 0, r.created_at))
    counts: dict[str, int] = {}
    for r in regs:
        counts[r.state] = counts.get(r.state, 0) + 1
    return AttendeeList(
        event_id=event_id,
        capacity=state.event.capacity,
        seats_taken=state.event.seats_taken,
        counts=counts,
        questions=[PublicQuestion(**q.model_dump()) for q in state.event.questions],
        items=[
            Attendee(
                registration_id=r.id,
                status=r.state,
                name=r.name,
                email=r.email,
                member=r.member_sub is not None,
                registered_at=r.created_at,
                confirmed_at=r.confirmed_at,
                waitlist_position=place.get(r.id),
                offer_expires_at=r.offer_expires_at if r.state == "offered" else None,
                answers=r.answers,
            )
            for r in regs
        ],
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A spreadsheet must never run a cell as a formula: a leading = + - @ tab or CR gets
    a quote in front (OWASP's advice for CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = "; ".join(str(v) for v in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def attendees_csv(listing: AttendeeList) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    fixed = [
        "registration_id",
        "status",
        "name",
        "email",
        "member",
        "registered_at",
        "confirmed_at",
        "waitlist_position",
        "offer_expires_at",
    ]
    writer.writerow([*fixed, *(safe_cell(q.label) for q in listing.questions)])
    for a in listing.items:
        row = a.model_dump(mode="json")
        cells = [safe_cell(row[c]) for c in fixed]
        cells += [safe_cell(a.answers.get(q.id)) for q in listing.questions]
        writer.writerow(cells)
    return out.getvalue()


# ---------------------------------------------------------------- many at once


def message(event_id: str, body: MessageIn, *, now: datetime) -> NoticeResult:
    state = _event(event_id)
    if state.event.status != "published":
        raise Gone("Only a published event's registrants can be messaged.", code="not_published")
    notice = notices.new_notice(
        state,
        "organiser_message",
        AUDIENCES[body.audience],
        now,
        subject=body.subject,
        body=body.body,
    )
    notices.start(notice, [])
    return _run(notice, now)


def cancel_event(event_id: str, *, reason: str | None, now: datetime) -> NoticeResult:
    """Cancels the event and emails every registrant (with a calendar cancellation)."""
    state = _event(event_id)
    if state.event.status == "cancelled":
        raise Gone("This event is already cancelled.", code="event_cancelled")
    notice = notices.new_notice(state, "event_cancelled", ACTIVE, now, reason=reason)
    try:
        notices.start(notice, [table.cancel_event(state, now)])
    except TransactionCancelled as exc:
        from convene.errors import Conflict

        raise Conflict("The event changed meanwhile; reload it and try again.") from exc
    return _run(notice, now)


def after_event_update(event_id: str, *, now: datetime) -> None:
    """What an edit of the event means for its registrants: a notice with the new time
    (SEQUENCE + 1 in the calendar file), their personal data kept until the new end +
    retention (registrations.retention), and offers for seats that became free."""
    state = table.load_event(event_id)
    if state is None or state.event.status != "published":
        return
    announce_time_change(state, now=now)
    retention.follow(state, now)
    seats.fill_free_seats(event_id, now)


def announce_time_change(state: EventState, *, now: datetime) -> NoticeResult | None:
    """Once per SEQUENCE: the events service raises it when the start or end moves."""
    if state.event.sequence <= state.notified_sequence:
        return None
    notice = notices.new_notice(state, "event_changed", ACTIVE, now, sequence=state.event.sequence)
    try:
        notices.start(notice, [table.mark_notified(state, state.event.sequence)])
    except TransactionCancelled:
        return None  # someone else announced this change
    return _run(notice, now)


def _run(notice: dict[str, object], now: datetime) -> NoticeResult:
    sent, done = notices.process(
        str(notice["id"]), now, budget=notices.REQUEST_BUDGET, notice=notice
    )
    return NoticeResult(notice_id=str(notice["id"]), kind=str(notice["kind"]), sent=sent, done=done)
