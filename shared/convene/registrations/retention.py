"""Registrants' personal data follows the event: it is removed `retention_days` (90 by
default, per event) after the event ends, by DynamoDB's TTL on `expires_at`.

What carries the event's TTL: each registration (an unconfirmed one keeps its own short
one: its 48 hours and a day), its person item, and its manage tokens (`expires` is the
moment the data goes; the token item goes a day later). Every write takes the TTL from
the event as it read it. When an organiser moves the end or changes `retention_days`,
the items already written move with it:

- `follow` (after the edit, and in the scheduled run for upcoming events) compares the
  event's end + retention with `personal_until` on the event item (the TTL its
  registrants' items were last moved to). If they differ, one transaction records the
  new value and writes a walk item (a notice of kind `personal_data`: no email),
  conditional on the event's version as read, so each change starts one walk.
- The walk goes over the event's registrations (`REGS#<event>`, a page of 100 at a time,
  the request that made the change first, then the scheduled run, like any notice) and
  moves each registration that is not settled, in one transaction: the registration's
  `expires_at` and `personal_until`, its person item, its manage tokens. Every entry is
  an Update conditional on the item existing: an erased or expired item is never
  recreated. The person item must still point at this registration.
- A registration is settled when its `personal_until` is the event's TTL and so is its
  own `expires_at` (unless it is unconfirmed). Writers carry `personal_until` as they
  read it, so a write based on an old read makes the registration unsettled again.
- The walk goes round again until a whole pass that began at least SETTLE after the walk
  started finds every registration settled: a request that read the event before the
  edit (at most a function's timeout, 120 seconds, earlier) may write the old TTL after
  the first pass went by, and a registration that changes state moves within `REGS#`
  (its key starts with the state), so one pass may miss it. At most MAX_PASSES.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from convene.db import TransactionCancelled
from convene.events.models import Event
from convene.registrations import emails, table
from convene.registrations.models import Registration, normalise_email
from convene.registrations.table import Contention, EventState
from convene.secrets import keyed_hash
from convene.timefmt import parse_utc, utc_iso

KIND = "personal_data"
SETTLE = timedelta(minutes=10)
MAX_PASSES = 5
PAGE = 100
REQUEST_BUDGET = 100  # registrations moved (and pages read) by the request that made the change
KEPT_FOR = timedelta(days=30)
TOKENS_PER_TRANSACTION = 98  # with the registration and the person item: 100 entries


def target(event: Event) -> int:
    """The TTL (epoch seconds) every personal item about this event should carry."""
    return emails.expires_at(event)


def settled(reg: Registration, ttl: int) -> bool:
    if reg.personal_until != ttl:
        return False
    return reg.state == "pending_confirmation" or reg.expires_at == ttl


def _just_published(event: Event) -> bool:
    # Published by the edit that was just made (nothing edited since): nobody could
    # register before, so no item carries another TTL.
    return event.published_at is not None and event.published_at == event.updated_at


def follow(state: EventState, now: datetime, *, budget: int | None = None) -> bool:
    """Moves the TTL of the event's personal items if its end or retention changed since
    they were set (the first `budget` registrations now, REQUEST_BUDGET by default; the
    rest in the scheduled run). True when a walk was started here."""
    ttl = target(state.event)
    if state.personal_until == ttl:
        return False
    mark = table.follow_personal_data(state, ttl)
    if state.personal_until is None and _just_published(state.event):
        _write([mark])
        return False
    notice: dict[str, Any] = {
        "id": "ntc_" + secrets.token_hex(8),
        "event_id": state.id,
        "kind": KIND,
        "ttl": ttl,
        "step": 0,
        "sent": 0,
        "done": False,
        "created_at": utc_iso(now),
        "settle_at": utc_iso(now + SETTLE),
        "expires_at": int((now + KEPT_FOR).timestamp()),
    }
    if not _write([mark, table.put_notice(notice)]):
        return False  # started by someone else, or the event changed since it was read
    process(notice, now, budget=REQUEST_BUDGET if budget is None else budget)
    return True


def _write(items: list[dict[str, Any]]) -> bool:
    for attempt in range(5):
        table.pause(attempt)
        try:
            table.transact(items)
        except Contention:
            continue  # the event item is busy (seats): shortly again
        except TransactionCancelled:
            return False
        return True
    return False  # the scheduled run tries again (the event's TTL still differs)


def process(notice: dict[str, Any], now: datetime, *, budget: int) -> tuple[int, bool]:
    """Carries on with a walk for up to `budget` registrations (and pages). Returns
    (registrations moved so far, done)."""
    ttl = int(notice["ttl"])
    until = datetime.fromtimestamp(ttl, UTC)
    settle_at = parse_utc(str(notice["settle_at"]))
    step = int(notice.get("step", 0))
    cursor = json.loads(notice["cursor"]) if notice.get("cursor") else None
    moved = int(notice.get("sent", 0))
    unsettled = int(notice.get("unsettled", 0))
    began = parse_utc(str(notice["pass_began"])) if notice.get("pass_began") else now
    if step > 0 and cursor is None and now < settle_at:
        return moved, False  # the next pass waits until requests that read the old event are over
    state = table.load_event(str(notice["event_id"]))
    # The event is gone, or it changed again: the newer walk follows it.
    done = state is None or target(state.event) != ttl
    while not done and budget > 0:
        if cursor is None:
            if step > 0 and now < settle_at:
                break  # the next pass waits until requests that read the old event are over
            began, unsettled = now, 0
        regs, cursor = table.all_registrations(
            str(notice["event_id"]), limit=min(PAGE, budget), start_key=cursor
        )
        budget -= 1
        for reg in regs:
            if settled(reg, ttl):
                continue
            unsettled += 1
            budget -= 1
            if _move(reg, ttl, until):
                moved += 1
        if cursor is None:
            step += 1
            done = (began >= settle_at and unsettled == 0) or step >= MAX_PASSES
    table.save_walk_progress(
        str(notice["id"]),
        step=step,
        cursor=json.dumps(cursor, default=str) if cursor else None,
        moved=moved,
        unsettled=unsettled,
        began=utc_iso(began),
        done=done,
    )
    return moved, done


_NO_KEY: list[bool] = []  # the signing key could not be read in this process


def _person(reg: Registration) -> str | None:
    if reg.person_hash:
        return reg.person_hash
    # Written before registrations kept the hash: computed again, where the signing key
    # can be read (the Registrations and Organisers functions; not the scheduled run,
    # which then leaves such a person item as it is).
    if _NO_KEY:
        return None
    try:
        return keyed_hash(normalise_email(reg.email), "registrant")
    except Exception:
        _NO_KEY.append(True)
        return None


def _move(reg: Registration, ttl: int, until: datetime) -> bool:
    """One registration's personal items to `ttl`, in one transaction. False if it is
    gone (nothing is recreated) or stayed busy."""
    entries = [
        table.move_registration_ttl(reg, ttl=ttl, own_ttl=reg.state != "pending_confirmation")
    ]
    person = _person(reg)
    if person:
        entries.append(table.move_person_ttl(person, reg.event_id, reg.id, ttl=ttl))
    tokens = sorted(reg.manage_tokens)
    entries += [table.move_token_expiry(h, until=until) for h in tokens[:TOKENS_PER_TRANSACTION]]
    if not _moved(entries, needed=0):
        return False
    for start in range(TOKENS_PER_TRANSACTION, len(tokens), 100):
        _moved([table.move_token_expiry(h, until=until) for h in tokens[start : start + 100]])
    return True


def _moved(entries: list[dict[str, Any]], *, needed: int | None = None) -> bool:
    """Writes `entries`; one refused (a person item that points elsewhere now, a token
    already removed) is left out and the rest written. False if entry `needed` was refused
    (the registration is gone) or the items stayed busy."""
    for attempt in range(4):
        table.pause(attempt)
        if not entries:
            return True
        try:
            table.transact(entries)
        except Contention:
            continue
        except TransactionCancelled as exc:
            if needed is not None and exc.failed(needed):
                return False
            entries = [e for i, e in enumerate(entries) if not exc.failed(i)]
            continue
        return True
    return False
