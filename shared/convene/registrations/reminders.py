"""The scheduled run (every 5 minutes; "now" is the schedule's time, not the clock):
reminders now due, offers whose 24 hours are up, and the notices and offers that a
request left unfinished.

Reminders: an event has its own list of minutes before the start (1440 and 60 by
default). A reminder is due from (start - minutes) until the start. When a run comes,
the latest due reminder goes to each confirmed registrant who has not had it: a
registration records each reminder it got (`reminded`, "<minutes>m<start>") in the same
transaction as the email, so a repeated run sends nothing twice; a missed run is caught
up by the next one (and an older reminder that a newer one overtook is skipped rather
than sent late); nothing is sent once the event has started. Each run is bounded
(`budget` emails); a reminder keeps a cursor, and the next run carries on from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from convene.db import TransactionCancelled
from convene.errors import ConveneError
from convene.events.models import Event
from convene.registrations import emails, notices, organisers, retention, seats, table
from convene.registrations.models import Registration
from convene.registrations.table import Contention

BUDGET = 300
EVENTS_PER_RUN = 100
LAPSED_PER_RUN = 50
PAGE = 25
FOLLOW_BUDGET = 50


@dataclass
class RunSummary:
    reminders: int = 0
    lapsed: int = 0
    offers: int = 0
    notices: int = 0
    events: int = 0
    personal_data: int = 0  # walks started that move personal data's TTL
    unfinished: list[str] = field(default_factory=list)


def run(now: datetime, *, budget: int = BUDGET) -> RunSummary:
    summary = RunSummary()
    summary.lapsed = lapse_offers(now)
    summary.notices = notices.pending(now, budget=budget // 3)
    for item in table.upcoming_events(now, limit=EVENTS_PER_RUN):
        state = table.event_state(item)
        summary.events += 1
        if state.event.sequence > state.notified_sequence:
            fresh = table.load_event(state.id)
            if fresh is not None:
                organisers.announce_time_change(fresh, now=now)
        if retention.target(state.event) != state.personal_until:
            # An edit whose request did not get as far as moving the personal data's TTL.
            fresh = table.load_event(state.id)
            if fresh is not None and retention.follow(fresh, now, budget=FOLLOW_BUDGET):
                summary.personal_data += 1
        if state.event.seats_taken < state.event.capacity and state.waiting > 0:
            summary.offers += seats.fill_free_seats(state.id, now)
        if budget > 0:
            sent, finished = remind(state.event, now, budget=budget)
            summary.reminders += sent
            budget -= sent
            if not finished:
                summary.unfinished.append(state.id)
    return summary


def lapse_offers(now: datetime) -> int:
    """Offers not accepted in time: the seat passes to the next on the waiting list (or is
    freed, once registration has closed)."""
    lapsed = 0
    for registration_id in table.lapsed_offers(now, limit=LAPSED_PER_RUN):
        reg = table.get_registration(registration_id)
        if reg is None or reg.state != "offered" or reg.offer_expires_at is None:
            continue
        if reg.offer_expires_at > now:
            continue
        try:
            seats.release(reg, "lapsed", now)
        except (seats.RegistrationChanged, ConveneError):
            continue  # accepted or cancelled at this moment, or busy: the next run sees it
        lapsed += 1
    return lapsed


def due_reminder(event: Event, now: datetime) -> int | None:
    """The reminder (minutes before the start) to send now, if any: the latest one due."""
    if now >= event.starts_at:
        return None
    due = [
        m for m in event.reminders_minutes_before if event.starts_at - timedelta(minutes=m) <= now
    ]
    return min(due) if due else None


def remind(event: Event, now: datetime, *, budget: int) -> tuple[int, bool]:
    """Sends the due reminder of one event to its confirmed registrants (up to `budget`).
    Returns (sent, finished)."""
    minutes = due_reminder(event, now)
    if minutes is None:
        return 0, True
    progress = table.reminder_progress(event.id, event.starts_at).get(minutes, {})
    if progress.get("done"):
        return 0, True
    key = f"{minutes}m{event.starts_at:%Y%m%dT%H%M%SZ}"
    cursor = json.loads(progress["cursor"]) if progress.get("cursor") else None
    sent = 0
    finished = False
    while budget > sent:
        regs, cursor = table.registrations_in_state(
            event.id, "confirmed", limit=min(PAGE, budget - sent), start_key=cursor
        )
        for reg in regs:
            if _send(reg, event, key, now):
                sent += 1
        if cursor is None:
            finished = True
            break
    table.save_reminder_progress(
        event.id,
        event.starts_at,
        minutes,
        cursor=json.dumps(cursor, default=str) if cursor else None,
        done=finished,
        expires_at=int((event.ends_at + timedelta(days=7)).timestamp()),
    )
    return sent, finished


def _send(reg: Registration, event: Event, key: str, now: datetime) -> bool:
    for _ in range(3):
        if key in reg.reminded or reg.state != "confirmed":
            return False
        marked = reg.model_copy(
            update={"reminded": {*reg.reminded, key}, "version": reg.version + 1}
        )
        mail = emails.reminder(marked, event, key, now)
        marked = emails.tracked(marked, mail)
        items = [
            table.put_registration(
                marked, expires_at=emails.expires_at(event), read_version=reg.version
            ),
            *mail,
        ]
        try:
            table.transact(items)
        except (Contention, TransactionCancelled):
            fresh = table.get_registration(reg.id)
            if fresh is None:
                return False
            reg = fresh
            continue
        return True
    return False
