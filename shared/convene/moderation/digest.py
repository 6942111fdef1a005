"""The moderators' digest: one email to the moderators' address when comments wait, at
most one per interval (MODERATION_DIGEST_MINUTES, 60 by default), never one per comment.
Its times are given in MODERATION_DIGEST_TIMEZONE (the stack's default: Europe/London).

The scheduled run (the Reminders function, every 5 minutes) calls `send_digest` with the
time it was scheduled for. The DIGEST item remembers when the last digest went; moving it
on and queuing the email are one transaction with a condition on that time, so a repeated
or concurrent run never sends a second digest in the same interval.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aws_lambda_powertools import Logger

from convene.db import TransactionCancelled, transact_write
from convene.email import outbox
from convene.moderation import table
from convene.settings import get_settings
from convene.timefmt import parse_utc, utc_iso, zone

logger = Logger(child=True)

DEFAULT_MINUTES = 60
Outcome = Literal["sent", "nothing_waiting", "not_due", "sent_by_another_run"]


@dataclass(frozen=True)
class DigestResult:
    outcome: Outcome
    pending: int = 0
    reported: int = 0

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


def interval() -> timedelta:
    """The configured interval (MODERATION_DIGEST_MINUTES; 60 if unset or not a number)."""
    raw = os.environ.get("MODERATION_DIGEST_MINUTES", "").strip()
    minutes = int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MINUTES
    return timedelta(minutes=minutes)


def timezone() -> str:
    """The zone the digest gives times in (MODERATION_DIGEST_TIMEZONE, an IANA name; UTC
    if unset). A name the zone database does not know is logged and read as UTC: the
    digest still goes out."""
    name = os.environ.get("MODERATION_DIGEST_TIMEZONE", "").strip() or "UTC"
    try:
        zone(name)
    except ValueError:
        logger.warning("unknown digest time zone; times are given in UTC", extra={"zone": name})
        return "UTC"
    return name


def console_url() -> str:
    return get_settings().site_url.rstrip("/") + "/console/"


def send_digest(now: datetime, *, every: timedelta | None = None) -> DigestResult:
    """Queues the digest if comments wait and none went out in the last interval. Costs one
    GetItem when not due; otherwise two one-item Queries, one Query of the counters, one
    Query of the spam queue's head and one transaction (the DIGEST item and the outbox
    item)."""
    every = every or interval()
    now_iso = utc_iso(now)
    not_after = utc_iso(now - every)
    state = table.get_digest() or {}
    last = str(state.get("last_sent_at") or "")
    if last and last > not_after:
        return DigestResult("not_due")
    oldest: dict[str, str | None] = {
        queue: table.oldest_waiting(queue) for queue in table.COUNTED_QUEUES
    }
    waiting = sorted(sort_key.partition("#")[0] for sort_key in oldest.values() if sort_key)
    if not waiting:
        return DigestResult("nothing_waiting")
    depths = table.queue_depths()
    # The counters say how many; the index says at least one waits where it found one.
    counts: dict[str, int] = {
        q: max(depths.get(q, 0), 1 if oldest[q] else 0) for q in table.COUNTED_QUEUES
    }
    # Caught spam alone never sends a digest (a bot's flood would mail moderators); when
    # one goes anyway it says when the next caught comment is deleted unless approved.
    spam = table.oldest_kept_spam(now)
    message = outbox.OutboxMessage(
        kind="moderation_digest",
        to=outbox.MODERATORS,
        data={
            "pending_count": counts["pending"],
            "reported_count": counts["reported"],
            "oldest_waiting_since": utc_iso(parse_utc(waiting[0])),
            "console_url": console_url(),
            "spam_next_deletion_at": table.deleted_at(spam) if spam else None,
            "timezone": timezone(),
        },
        list_kind="digest",
        dedupe_key=f"MODDIGEST#{now_iso}",
    )
    try:
        transact_write(
            [table.digest_sent(now_iso, not_after, counts), outbox.put(message, now=now)]
        )
    except TransactionCancelled:
        # Another run moved the DIGEST item on (or queued this very slot) first.
        return DigestResult("sent_by_another_run", counts["pending"], counts["reported"])
    logger.info("moderation digest queued", extra=counts)
    return DigestResult("sent", counts["pending"], counts["reported"])
