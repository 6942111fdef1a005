"""Notices: one email to many registrants of an event (the time changed, the event was
cancelled, an organiser's message).

The change and a notice item are written in one transaction; the notice then goes out a
page at a time, each email in its own transaction with its outbox item (keyed on the
notice and the registration, so none goes twice). The request that made the change sends
the first pages; the scheduled run (every 5 minutes) finishes what is left, so a request
costs a bounded number of calls whatever the size of the event.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from convene.db import TransactionCancelled
from convene.events.models import Event
from convene.registrations import emails, retention, table
from convene.registrations.models import SEATED, Registration
from convene.registrations.table import Contention, EventState
from convene.timefmt import utc_iso

PAGE = 25
REQUEST_BUDGET = 100  # emails a request queues before leaving the rest to the scheduled run
KEPT_FOR = timedelta(days=30)


def new_notice(
    state: EventState, kind: str, states: tuple[str, ...], now: datetime, **fields: Any
) -> dict[str, Any]:
    return {
        "id": "ntc_" + secrets.token_hex(8),
        "event_id": state.id,
        "kind": kind,
        "states": list(states),
        "step": 0,
        "sent": 0,
        "done": False,
        "created_at": utc_iso(now),
        "expires_at": int((now + KEPT_FOR).timestamp()),
        **{k: v for k, v in fields.items() if v is not None},
    }


def start(notice: dict[str, Any], change: list[dict[str, Any]]) -> None:
    """Writes the change and the notice together (TransactionCancelled if the change's
    condition failed)."""
    table.transact([*change, table.put_notice(notice)])


def process(
    notice_id: str, now: datetime, *, budget: int, notice: dict[str, Any] | None = None
) -> tuple[int, bool]:
    """Sends up to `budget` more emails of a notice. Returns (sent so far, done).

    `notice` is the item when the caller has just written it (the request that made the
    change), which saves reading it back; the scheduled run passes only the id."""
    if notice is None:
        notice = table.get_notice(notice_id)
    if notice is None:
        return 0, True
    if notice.get("done"):
        return int(notice.get("sent", 0)), True
    if notice["kind"] == retention.KIND:
        return retention.process(notice, now, budget=budget)  # no email: personal data TTL
    state = table.load_event(str(notice["event_id"]))
    states: list[str] = list(notice["states"])
    step = int(notice.get("step", 0))
    cursor = json.loads(notice["cursor"]) if notice.get("cursor") else None
    sent = int(notice.get("sent", 0))
    cancelling = notice["kind"] == "event_cancelled"
    pages = 0
    while state is not None and budget > 0 and step < len(states) and pages < budget:
        pages += 1
        regs, last = table.registrations_in_state(
            state.id,
            states[step],
            limit=min(PAGE, budget),
            start_key=None if cancelling else cursor,
        )
        moved = 0
        for reg in regs:
            budget -= 1
            if _send(notice, reg, state.event, now):
                sent += 1
                moved += 1
        if cancelling:
            # Cancelled registrations leave the state, so the first page is always next.
            # The state is done when a page comes back empty, or when a last page (no
            # LastEvaluatedKey) was all cancelled; one that was not is read again (the
            # index may still show a registration this run has just cancelled, and its
            # transaction then fails on the version, sending nothing twice).
            if not regs or (last is None and moved == len(regs)):
                step += 1
            elif moved == 0:
                break  # every one of them is changing right now: next run
        elif last is None:
            step, cursor = step + 1, None
        else:
            cursor = last
    done = state is None or step >= len(states)
    table.save_notice_progress(
        notice_id,
        step=step,
        cursor=json.dumps(cursor, default=str) if cursor else None,
        sent=sent,
        done=done,
    )
    return sent, done


def _send(notice: dict[str, Any], reg: Registration, event: Event, now: datetime) -> bool:
    nid = str(notice["id"])
    kind = notice["kind"]
    if kind in {"event_changed", "organiser_message"}:
        if kind == "event_changed":
            mail = emails.event_changed(reg, event, nid, now)
        else:
            mail = emails.organiser_message(
                reg, event, nid, str(notice["subject"]), str(notice["body"]), now
            )
        # The registration lists the manage token in the email (its TTL follows the
        # event's) and takes the event's TTL; if it is gone (erased), nothing is sent.
        items = [
            table.record_manage_tokens(
                reg, table.manage_token_hashes(mail), expires_at=emails.expires_at(event)
            ),
            *mail,
        ]
    else:
        left = reg.model_copy(
            update={
                "state": "cancelled",
                "cancelled_at": now,
                "updated_at": now,
                "version": reg.version + 1,
            }
        )
        items = [
            table.put_registration(
                left, expires_at=emails.expires_at(event), read_version=reg.version
            ),
            table.release_counts(
                event.id,
                seats=1 if reg.state in SEATED else 0,
                waiting=1 if reg.state == "waitlisted" else 0,
            ),
            *emails.event_cancelled(left, event, nid, notice.get("reason"), now),
        ]
    for attempt in range(3):
        table.pause(attempt)
        try:
            table.transact(items)
        except Contention:
            continue  # another transaction had the registration: shortly again
        except TransactionCancelled:
            return False  # already sent (the outbox key exists), gone, or changed: next page/run
        return True
    return False


def pending(now: datetime, *, budget: int) -> int:
    """The scheduled run: carry on with notices that are not done."""
    sent = 0
    for notice_id in table.pending_notices(limit=10):
        if budget <= 0:
            break
        before = int((table.get_notice(notice_id) or {}).get("sent", 0))
        total, _ = process(notice_id, now, budget=budget)
        budget -= max(total - before, 1)
        sent += max(total - before, 0)
    return sent
