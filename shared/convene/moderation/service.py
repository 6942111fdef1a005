"""Moderation: the use cases behind the moderators' routes.

    list_queue    a queue, oldest first, with what a moderator needs to decide
    claim         the caller's batch: their leases extended, the oldest unclaimed added
    decide        one decision: one transaction guarded by the version and the claim
    decide_many   up to 25 decisions, each answered on its own
    history       a comment's audit trail
    stats         queue depths, the oldest waits, decisions per day (maintained counters)
    list_blocks, put_block, remove_block   the block list; an email block may also
                  reject that author's pending comments

The comments capability owns comments and their transitions (convene.comments.service):
a decision here is `apply_decision` with moderation's claim check added to the
comment's own condition. docs/moderation.md explains the design.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from convene import secrets
from convene.auth import Caller
from convene.comments import defences
from convene.comments import service as comments
from convene.comments import table as comments_table
from convene.comments.models import ID_PATTERN, BlockIn, BlockKind
from convene.comments.policy import get_config
from convene.errors import Conflict, ConveneError, Invalid, NotFound, Unavailable
from convene.moderation import table
from convene.moderation.models import (
    QUEUES,
    AuditRecord,
    AuthorHistory,
    BlockList,
    BlockPut,
    BlockResult,
    BulkDecisionIn,
    BulkItemResult,
    BulkResult,
    ClaimResult,
    ClaimView,
    DayDecisions,
    DecisionIn,
    DecisionResult,
    HistoryView,
    ItemError,
    ParentContext,
    PostContext,
    QueueItem,
    QueueStats,
    QueueView,
    ReportView,
    SpamStats,
    StatsView,
)
from convene.timefmt import parse_utc, utc_iso

logger = Logger(child=True)

LEASE = timedelta(minutes=10)
CLAIM_PAGE = 100  # queue items a claim reads per Query (keys and claims only: small)
CLAIM_PAGES = 5  # at most 500 items walked: live leases are at most ~20 per moderator
QUEUE_PAGE_MAX = 50
REPORTS_SHOWN = 10
HISTORY_PAGE = 100
BLOCK_WINDOW = 100  # person-index entries a block reads per call
BLOCK_REJECTS = 25  # pending comments a block rejects per call
ATTEMPTS = 4  # a decision meeting another transaction on a counter is tried again
ANOTHER = "Another moderator"

_ID = re.compile(ID_PATTERN)
_QUEUE_CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT[0-9:.]+Z#[A-Za-z0-9_-]{1,64}$")
_AUDIT_CURSOR = re.compile(r"^AUDIT#\d{4}-\d\d-\d\dT[0-9:.]+Z#\d{6}$")


@dataclass(frozen=True)
class Moderator:
    """Who is deciding: the Cognito user id, and the display name others see (never the
    email address)."""

    id: str
    name: str

    @classmethod
    def from_caller(cls, caller: Caller) -> Moderator:
        name = " ".join((caller.name or "").split())
        return cls(id=caller.sub, name=name if name and "@" not in name else "A moderator")


def clock() -> datetime:
    """The time leases are measured by (tests move it on)."""
    return datetime.now(UTC)


def _now(now: datetime | None) -> datetime:
    return (now or clock()).astimezone(UTC)


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, shape: re.Pattern[str]) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not shape.match(text):
        raise Invalid("The cursor is not valid.", fields={"cursor": "is not valid"})
    return text


def _queue(queue: str) -> str:
    if queue not in QUEUES:
        raise Invalid("Unknown queue.", fields={"queue": "pending, reported or spam"})
    return queue


# ---------------------------------------------------------------- reading a queue


def _claim_view(item: Mapping[str, Any], moderator: Moderator, now_iso: str) -> ClaimView | None:
    holder, until = item.get("claimed_by"), str(item.get("lease_until") or "")
    if not holder or until < now_iso:
        return None
    mine = holder == moderator.id
    return ClaimView(mine=mine, by=str(item.get("claimed_by_name") or ANOTHER), lease_until=until)


def _since_iso(sort_time: str | None) -> str | None:
    return utc_iso(parse_utc(sort_time)) if sort_time else None


def _with_context(
    items: Sequence[Mapping[str, Any]], queue: str, moderator: Moderator, now_iso: str
) -> list[QueueItem]:
    """Queue items with their post, the comment they answer, the author's history and the
    reports: one BatchGetItem for the page, and a Query per reported comment."""
    if not items:
        return []
    posts, parents, authors = table.context(
        {str(i["post_id"]) for i in items},
        {str(i["parent_id"]) for i in items if i.get("parent_id")},
        {str(i["email_hash"]) for i in items if i.get("email_hash")},
    )
    out = []
    for item in items:
        base = comments.moderated(item)
        since = table.waiting_since(item) or str(item["created_at"])
        post = posts.get(str(item["post_id"]), {})
        parent = parents.get(str(item.get("parent_id") or ""))
        author = authors.get(str(item.get("email_hash") or ""), {})
        reports = (
            table.reports(str(item["comment_id"]), REPORTS_SHOWN)
            if int(item.get("report_count", 0))
            else []
        )
        out.append(
            QueueItem(
                **{**base.model_dump(), "queued_at": base.queued_at or _since_iso(since)},
                queue=queue,
                waiting_since=since,
                post=PostContext(
                    post_id=str(item["post_id"]), title=post.get("title"), url=post.get("url")
                ),
                parent=ParentContext(
                    comment_id=str(parent["comment_id"]),
                    author_name=parent.get("author_name"),
                    body=str(parent.get("body") or ""),
                    status=parent.get("status"),
                    created_at=parent.get("created_at"),
                )
                if parent
                else None,
                author_history=AuthorHistory(
                    **{state: max(0, int(author.get(state, 0))) for state in table.STATES}
                ),
                reports=sorted(
                    (
                        ReportView(
                            reason=str(r.get("reason")),
                            note=r.get("note"),
                            created_at=r.get("created_at"),
                        )
                        for r in reports
                    ),
                    key=lambda r: r.created_at or "",
                    reverse=True,
                ),
                claim=_claim_view(item, moderator, now_iso),
                expires_at=table.deleted_at(item),
            )
        )
    return out


def list_queue(
    queue: str,
    moderator: Moderator,
    *,
    cursor: str | None = None,
    limit: int = 25,
    now: datetime | None = None,
) -> QueueView:
    """A queue, oldest first: one Query for the page, one BatchGetItem for its context, a
    Query per reported comment for its reports."""
    queue = _queue(queue)
    if not 1 <= limit <= QUEUE_PAGE_MAX:
        raise Invalid("Ask for fewer items.", fields={"limit": f"1 to {QUEUE_PAGE_MAX}"})
    after = _decode(cursor, _QUEUE_CURSOR) if cursor else None
    now = _now(now)
    items, next_after = comments_table.queue_page(queue, after, limit)
    items = [i for i in items if not table.expired(i, now)]
    return QueueView(
        queue=queue,
        items=_with_context(items, queue, moderator, utc_iso(now)),
        next_cursor=_encode(next_after) if next_after else None,
    )


# ---------------------------------------------------------------- claims


def claim(
    queue: str, count: int, moderator: Moderator, *, now: datetime | None = None
) -> ClaimResult:
    """The caller's batch from a queue, leased to them until now + 10 minutes: every item
    they already hold (the lease extended), then the oldest items nobody holds (or whose
    lease ran out), until the batch has `count`. Each lease is one conditional update of
    the comment, so two moderators never both get an item; a lost race just moves on."""
    queue = _queue(queue)
    now = _now(now)
    now_iso, until = utc_iso(now), utc_iso(now + LEASE)

    def take(head: Mapping[str, Any]) -> dict[str, Any] | None:
        return table.lease(
            str(head["comment_id"]),
            queue,
            moderator_id=moderator.id,
            name=moderator.name,
            until=until,
            now=now_iso,
        )

    held: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(CLAIM_PAGES):
        heads, after = table.queue_heads(queue, after, CLAIM_PAGE)
        heads = [h for h in heads if not table.expired(h, now)]
        for head in heads:
            if head.get("claimed_by") == moderator.id and (got := take(head)):
                held.append(got)
        for head in heads:
            if len(held) + len(fresh) >= count:
                break
            holder = head.get("claimed_by")
            free = not holder or str(head.get("lease_until") or "") < now_iso
            if holder != moderator.id and free and (got := take(head)):
                fresh.append(got)
        if len(held) + len(fresh) >= count or after is None:
            break
    batch = sorted(held + fresh, key=lambda i: str(i.get("gsi1sk", "")))
    logger.info("claimed", extra={"queue": queue, "claimed": len(fresh), "extended": len(held)})
    return ClaimResult(
        queue=queue,
        lease_until=until,
        claimed=len(fresh),
        extended=len(held),
        items=_with_context(batch, queue, moderator, now_iso),
    )


# ---------------------------------------------------------------- decisions


def _already_decided(state: Mapping[str, Any]) -> Conflict:
    return Conflict(
        f"This comment was already decided (it is {state.get('status')} now); reload the queue.",
        code="already_decided",
    )


def _claimed(state: Mapping[str, Any]) -> Conflict:
    who = str(state.get("claimed_by_name") or ANOTHER)
    return Conflict(
        f"{who} is reviewing this comment (claimed until {state.get('lease_until')}).",
        code="claimed_by_another",
    )


def _held_by_another(state: Mapping[str, Any], moderator: Moderator, now_iso: str) -> bool:
    holder = state.get("claimed_by")
    return bool(holder) and holder != moderator.id and str(state.get("lease_until")) >= now_iso


def _refusal(
    comment_id: str, version: int, queue: str, moderator: Moderator, now_iso: str
) -> ConveneError:
    """Why a decision's transaction was refused, from the comment as it is now."""
    state = table.get_comment_state(comment_id)
    if state is None:
        return NotFound("There is no such comment.")
    if int(state["version"]) != version or table.queue_of(state) != queue:
        return _already_decided(state)
    if _held_by_another(state, moderator, now_iso):
        return _claimed(state)
    return _already_decided(state)


def _contention(exc: ClientError) -> bool:
    reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
    code = exc.response.get("Error", {}).get("Code")
    return code == "TransactionConflictException" or "TransactionConflict" in reasons


def _check_reason(decision: DecisionIn) -> None:
    """The policy's rule, checked before anything is read (a 422 is the caller's to fix)."""
    if decision.action != "approve" and not decision.reason_code:
        raise Invalid(
            "Say why: choose a reason from the policy.", fields={"reason_code": "Field required"}
        )
    if decision.reason_code and decision.reason_code not in get_config().reason_codes:
        raise Invalid("Unknown reason.", fields={"reason_code": "not a policy reason code"})


def _from_spam(item: Mapping[str, Any], decision: DecisionIn, now: datetime) -> None:
    """Out of the spam queue there is one way: approve (a false positive, rescued). Left
    alone, spam is deleted at its time; rejecting it would only keep it longer."""
    if table.expired(item, now):
        raise NotFound("There is no such comment (it was deleted as spam).")
    if decision.action != "approve":
        raise Conflict(
            "A comment in the spam queue can only be approved; left alone it is deleted.",
            code="spam_approve_only",
            fields={"action": "only approve takes a comment out of the spam queue"},
        )


def decide(
    comment_id: str,
    decision: DecisionIn,
    moderator: Moderator,
    *,
    now: datetime | None = None,
    current: Mapping[str, Any] | None = None,
) -> DecisionResult:
    """One decision on a comment waiting in a queue. 404 unknown; 409 `already_decided` if
    it left its queue or its version is not the one the moderator saw; 409
    `claimed_by_another` if someone else holds a live lease. One transaction (the comment,
    its counts, the audit record, the outbox, the stats), retried if it meets another."""
    _check_reason(decision)
    now = _now(now)
    now_iso = utc_iso(now)
    if not _ID.match(comment_id):
        raise NotFound("There is no such comment.")
    for attempt in range(ATTEMPTS):
        item = (
            dict(current)
            if current is not None and attempt == 0
            else comments_table.get_comment(comment_id)
        )
        if item is None:
            raise NotFound("There is no such comment.")
        version = decision.version or int(item["version"])
        queue = table.queue_of(item)
        if version != int(item["version"]) or queue not in QUEUES:
            raise _already_decided(item)
        if _held_by_another(item, moderator, now_iso):
            raise _claimed(item)
        if queue == "spam":
            _from_spam(item, decision, now)
        assert queue is not None
        try:
            after = comments.apply_decision(
                comment_id,
                decision.action,
                expected_version=version,
                moderator=moderator.id,
                moderator_name=moderator.name,
                reason_code=decision.reason_code,
                note=decision.note,
                now=now,
                guard=table.claim_guard(queue, moderator.id, now_iso),
                current=item,
            )
        except Conflict as exc:
            if exc.code != "stale":
                raise
            raise _refusal(comment_id, version, queue, moderator, now_iso) from None
        except ClientError as exc:
            if not _contention(exc):
                raise
            logger.info("decision met another transaction", extra={"attempt": attempt + 1})
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # jitter
            continue
        logger.info(
            "decided",
            extra={"comment_id": comment_id, "action": decision.action, "queue": queue},
        )
        return DecisionResult(
            comment_id=comment_id,
            action=decision.action,
            status=after.status,
            version=after.version,
            decided_at=now_iso,
        )
    raise Unavailable("The comment is busy; try again.", headers={"Retry-After": "1"})


def decide_many(
    decisions: Sequence[BulkDecisionIn], moderator: Moderator, *, now: datetime | None = None
) -> BulkResult:
    """Each decision on its own, in order: one failing never stops the others."""
    results: list[BulkItemResult] = []
    for decision in decisions:
        try:
            done = decide(decision.comment_id, decision, moderator, now=now)
        except ConveneError as exc:
            error = ItemError(code=exc.code, message=exc.message, fields=exc.fields)
            results.append(
                BulkItemResult(comment_id=decision.comment_id, status=exc.status, error=error)
            )
            continue
        results.append(BulkItemResult(comment_id=decision.comment_id, status=200, result=done))
    return BulkResult(results=results, applied=sum(r.status == 200 for r in results))


# ---------------------------------------------------------------- history


def history(
    comment_id: str, *, cursor: str | None = None, limit: int = HISTORY_PAGE
) -> HistoryView:
    """Every change of the comment, oldest first, from its audit records (append-only:
    each is written once, with a condition that it is new, in its change's transaction)."""
    if not _ID.match(comment_id):
        raise NotFound("There is no such comment.")
    after = _decode(cursor, _AUDIT_CURSOR) if cursor else None
    records, next_after = table.audit_page(comment_id, after, limit)
    if not records and not after and table.get_comment_state(comment_id) is None:
        raise NotFound("There is no such comment.")
    items = []
    for record in records:
        moderator_id = record.get("moderator")
        items.append(
            AuditRecord(
                at=str(record.get("at")),
                action=str(record.get("action")),
                from_status=record.get("from_status"),
                to_status=record.get("to_status"),
                version=int(str(record["sk"]).rsplit("#", 1)[1]),
                moderator=(record.get("moderator_name") or ANOTHER) if moderator_id else None,
                moderator_id=moderator_id,
                reason_code=record.get("reason_code"),
                note=record.get("note"),
                detail=record.get("detail"),
            )
        )
    return HistoryView(
        comment_id=comment_id,
        items=items,
        next_cursor=_encode(next_after) if next_after else None,
    )


# ---------------------------------------------------------------- stats


def stats(*, days: int = 7, now: datetime | None = None) -> StatsView:
    """Queue depths and decisions per day from their counters (one Query each), the
    oldest wait of each counted queue from its index (one Query of one item each), and
    the spam queue's oldest kept comment (one Query)."""
    now = _now(now)
    depths = table.queue_depths()
    queues = {}
    for queue in table.COUNTED_QUEUES:  # spam is not counted (docs/moderation.md)
        oldest = table.oldest_waiting(queue)
        since = parse_utc(oldest.partition("#")[0]) if oldest else None
        queues[queue] = QueueStats(
            # A counter never shows less than what the index holds (never below zero).
            depth=max(depths.get(queue, 0), 1 if since else 0),
            oldest_at=utc_iso(since) if since else None,
            oldest_age_seconds=max(0, int((now - since).total_seconds())) if since else None,
        )
    today = now.date()
    first = today - timedelta(days=days - 1)
    counted = table.day_counts(first.isoformat(), today.isoformat())
    per_day = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        counts = {action: max(0, n) for action, n in counted.get(day, {}).items()}
        per_day.append(DayDecisions(day=day, **counts, total=sum(counts.values())))
    return StatsView(
        as_of=utc_iso(now),
        queues=queues,
        spam=_spam_stats(now),
        decisions_today=per_day[-1].total,
        decisions_per_day=per_day,
    )


def _spam_stats(now: datetime) -> SpamStats:
    kept = table.oldest_kept_spam(now)
    if kept is None:
        return SpamStats(waiting=False)
    return SpamStats(
        waiting=True,
        oldest_at=utc_iso(parse_utc(str(kept["gsi1sk"]).partition("#")[0])),
        next_deletion_at=table.deleted_at(kept),
    )


# ---------------------------------------------------------------- blocks


def list_blocks() -> BlockList:
    return BlockList(items=comments.list_blocks())


def _reject_pending(
    email: str, block: BlockPut, moderator: Moderator, now: datetime
) -> tuple[int, int, bool]:
    """Rejects the address's pending comments, found through the person index (bounded:
    BLOCK_WINDOW index entries, BLOCK_REJECTS rejections per call). Returns (rejected,
    skipped because another moderator holds them, whether more may remain)."""
    email_hash = secrets.keyed_hash(defences.normalise_email(email), comments.EMAIL_HASH)
    ids, more = table.person_comment_ids(email_hash, BLOCK_WINDOW)
    waiting = [
        c
        for c in table.comments_by_id(ids)
        if c.get("status") == "pending" and table.queue_of(c) == "pending"
    ]
    waiting.sort(key=lambda c: str(c.get("gsi1sk", "")))
    decision = DecisionIn(action="reject", reason_code=block.reason_code, note=block.note)
    rejected = skipped = 0
    for item in waiting[:BLOCK_REJECTS]:
        try:
            decide(str(item["comment_id"]), decision, moderator, now=now, current=item)
        except Conflict:
            skipped += 1  # held by someone else, or decided meanwhile
            continue
        rejected += 1
    return rejected, skipped, more or len(waiting) > BLOCK_REJECTS


def put_block(block: BlockPut, moderator: Moderator, *, now: datetime | None = None) -> BlockResult:
    """Adds a block (a repeat is harmless). With reject_pending, an email block also
    rejects that author's comments waiting in the pending queue, with the reason given."""
    now = _now(now)
    if block.reject_pending:
        if block.kind != "email":
            raise Invalid(
                "Only an email block can reject its author's pending comments.",
                fields={"reject_pending": "only with kind email"},
            )
        _check_reason(DecisionIn(action="reject", reason_code=block.reason_code))
    view = comments.add_block(
        BlockIn(kind=block.kind, value=block.value), moderator=moderator.name, now=now
    )
    rejected = skipped = 0
    more = False
    if block.reject_pending:
        rejected, skipped, more = _reject_pending(block.value, block, moderator, now)
    logger.info("block added", extra={"kind": block.kind, "rejected": rejected, "skipped": skipped})
    return BlockResult(block=view, rejected=rejected, skipped=skipped, more=more)


def remove_block(kind: BlockKind, value: str) -> None:
    comments.remove_block(kind, value)
    logger.info("block removed", extra={"kind": kind})
