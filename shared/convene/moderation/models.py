"""What crosses the API for moderators.

A moderator sees the author's email and the raw text (ModeratedComment, from comments);
never a keyed hash, an IP or another moderator's email: a claim and an audit record name
a moderator by display name and id only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from convene.comments.models import ID_PATTERN, Action, BlockKind, BlockView, ModeratedComment

Queue = Literal["pending", "reported", "spam"]
# `spam` holds what the defences caught (a block, the honeypot) until it expires
# (`spam_retain_days`); a moderator may take a comment out of it only by approving it
# (docs/moderation.md, "The spam queue").
QUEUES: tuple[Queue, ...] = ("pending", "reported", "spam")
MAX_CLAIM = 20
MAX_BULK = 25


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


# ---------------------------------------------------------------- the queue


class PostContext(BaseModel):
    post_id: str
    title: str | None = Field(None, description="None if the post is no longer registered.")
    url: str | None = None


class ParentContext(BaseModel):
    """The comment this one answers, for context."""

    comment_id: str
    author_name: str | None = None
    body: str = Field("", description="The raw text as its author wrote it.")
    status: str | None = None
    created_at: str | None = None


class AuthorHistory(BaseModel):
    """The author's comments (by email address) that are published, rejected or spam."""

    approved: int = 0
    rejected: int = 0
    spam: int = 0


class ReportView(BaseModel):
    """One reader's report: the reason code and note, never who the reader is."""

    reason: str
    note: str | None = None
    created_at: str | None = None


class ClaimView(BaseModel):
    mine: bool = Field(description="True if the caller holds the lease.")
    by: str = Field(description="The holder's display name (never an email).")
    lease_until: str = Field(description="UTC; after this anyone may claim the comment.")


class QueueItem(ModeratedComment):
    """A comment waiting for review, with what a moderator needs to decide on it."""

    queue: Queue
    waiting_since: str = Field(description="When it joined the queue (UTC).")
    post: PostContext
    parent: ParentContext | None = None
    author_history: AuthorHistory
    reports: list[ReportView] = Field(
        default_factory=list, description="The latest reports, with their reasons."
    )
    claim: ClaimView | None = Field(None, description="A live lease, if someone holds one.")
    expires_at: str | None = Field(
        None, description="Spam only: when it is deleted unless a moderator approves it (UTC)."
    )


class QueueView(BaseModel):
    queue: Queue
    items: list[QueueItem] = Field(description="Oldest first.")
    next_cursor: str | None = None


# ---------------------------------------------------------------- claims


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: Queue = "pending"
    count: int = Field(10, ge=1, le=MAX_CLAIM, description=f"At most {MAX_CLAIM}.")


class ClaimResult(BaseModel):
    queue: Queue
    lease_until: str = Field(description="UTC: the leases of this batch end then.")
    claimed: int = Field(description="Items newly leased to the caller by this call.")
    extended: int = Field(description="Items the caller already held, their leases extended.")
    items: list[QueueItem] = Field(description="The caller's batch, oldest first.")


# ---------------------------------------------------------------- decisions


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Action
    reason_code: Annotated[
        str | None, Field(max_length=40, description="From the comments policy; needed to reject.")
    ] = None
    note: Annotated[
        str | None, Field(max_length=1000, description="Kept in the audit trail only.")
    ] = None
    version: Annotated[
        int | None,
        Field(ge=1, description="The version the moderator saw; a changed comment is a 409."),
    ] = None
    # The console sends back whatever its claim answer carried; a lease is the caller's
    # own, so nothing more is needed: accepted and ignored.
    claim_id: Annotated[str | None, Field(max_length=100)] = None

    @field_validator("reason_code", "note", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_to_none(value)


class BulkDecisionIn(DecisionIn):
    comment_id: Annotated[str, Field(pattern=ID_PATTERN)]


class BulkDecisionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[BulkDecisionIn] = Field(min_length=1, max_length=MAX_BULK)


class DecisionResult(BaseModel):
    comment_id: str
    action: Action
    status: str = Field(description="The comment's state after the decision.")
    version: int
    decided_at: str


class ItemError(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = Field(default_factory=dict)


class BulkItemResult(BaseModel):
    comment_id: str
    status: int = Field(
        description="What this decision alone would have answered: 200, 404, 409, 422."
    )
    result: DecisionResult | None = None
    error: ItemError | None = None


class BulkResult(BaseModel):
    results: list[BulkItemResult] = Field(description="One per decision, in the order sent.")
    applied: int


# ---------------------------------------------------------------- history and stats


class AuditRecord(BaseModel):
    at: str
    action: str = Field(description="submitted, approve, reject, spam, hidden, erased ...")
    from_status: str | None = None
    to_status: str | None = None
    version: int | None = Field(None, description="The comment's version after the change.")
    moderator: str | None = Field(None, description="Who decided: a display name.")
    moderator_id: str | None = Field(None, description="Who decided: the moderator's user id.")
    reason_code: str | None = None
    note: str | None = None
    detail: str | None = Field(None, description="What the system did and why.")


class HistoryView(BaseModel):
    comment_id: str
    items: list[AuditRecord] = Field(description="Oldest first; the trail is append-only.")
    next_cursor: str | None = None


class QueueStats(BaseModel):
    depth: int
    oldest_at: str | None = Field(None, description="When the oldest waiting item joined (UTC).")
    oldest_age_seconds: int | None = None


class DayDecisions(BaseModel):
    day: str = Field(description="UTC date, YYYY-MM-DD.")
    approve: int = 0
    reject: int = 0
    spam: int = 0
    total: int = 0


class SpamStats(BaseModel):
    """The spam queue has no counter (TTL deletes what expires, and no transaction sees
    that); the stats say whether anything caught is still kept and when the next goes."""

    waiting: bool = Field(description="A caught comment is kept, waiting for a moderator.")
    oldest_at: str | None = Field(None, description="When the oldest kept one was caught (UTC).")
    next_deletion_at: str | None = Field(
        None, description="When that comment is deleted unless a moderator approves it (UTC)."
    )


class StatsView(BaseModel):
    as_of: str
    queues: dict[str, QueueStats] = Field(description="The counted queues: pending, reported.")
    spam: SpamStats
    decisions_today: int
    decisions_per_day: list[DayDecisions] = Field(description="Oldest day first, today last.")


# ---------------------------------------------------------------- blocks


class BlockPut(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: BlockKind
    value: Annotated[str, Field(min_length=1, max_length=254)]
    reject_pending: bool = Field(
        False, description="Also reject that author's pending comments (email blocks only)."
    )
    reason_code: Annotated[
        str | None, Field(max_length=40, description="The policy reason for those rejections.")
    ] = None
    note: Annotated[str | None, Field(max_length=1000)] = None

    @field_validator("reason_code", "note", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_to_none(value)


class BlockRemove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: BlockKind
    value: Annotated[str, Field(min_length=1, max_length=254)]


class BlockResult(BaseModel):
    block: BlockView
    rejected: int = Field(0, description="Pending comments of that author rejected with it.")
    skipped: int = Field(0, description="Pending comments another moderator holds, left alone.")
    more: bool = Field(False, description="More may wait: put the block again to go on.")


class BlockList(BaseModel):
    items: list[BlockView]
