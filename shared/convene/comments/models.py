"""What crosses the API for comments, and what moderation reads.

Public views carry no email, no keyed hash and no moderation note: only the fields listed
here are ever serialised to a reader.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from convene.comments.policy import ReasonCode, get_config
from convene.forms import FormFriendly

MAX_BODY_CHARS = 5000
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Plain ASCII addresses, as the outbox (and SES) accept them: a comment whose author can
# never be emailed would fail later, at approval.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
# Right-to-left overrides and isolates: they make a text read differently from what it is.
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

CommentStatus = Literal["pending", "approved", "rejected", "spam"]
Action = Literal["approve", "reject", "spam"]
BlockKind = Literal["email", "domain", "word"]


def _blank_to_none(value: object) -> object:
    # A form post sends every field, empty ones as "".
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _no_controls(text: str) -> str:
    """Text without control characters (but newlines and tabs) or bidi overrides. Other
    format characters stay: emoji sequences need the zero-width joiner."""
    text = text.translate(_BIDI)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


class CommentIn(FormFriendly):
    """A reader's comment, from JSON or a form post. A signed-in member's name and email
    come from the token; a guest must give both."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: Annotated[str | None, Field(max_length=80)] = None
    email: Annotated[str | None, Field(max_length=254, description="Kept private.")] = None
    body: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_BODY_CHARS,
            description="Markdown: paragraphs, emphasis, links, lists, quotes.",
        ),
    ]
    parent_id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    notify: bool = Field(
        False, description="Email me when my comment is published and when someone replies."
    )
    # The honeypot: hidden from people by the form, filled in by bots.
    website: Annotated[str | None, Field(max_length=2000)] = None

    @field_validator("name", "email", "parent_id", "website", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_to_none(value)

    @field_validator("body", mode="before")
    @classmethod
    def _body(cls, value: object) -> object:
        if isinstance(value, str):
            return _no_controls(value.replace("\r\n", "\n").replace("\r", "\n"))
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # A name is one line of visible text: no invisible characters at all.
        value = " ".join("".join(c for c in value if unicodedata.category(c)[0] != "C").split())
        if not value:
            return None
        if "@" in value:
            # Names are shown publicly; an address typed into the name box must not be.
            raise ValueError("a name, not an email address")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value


class CommentView(BaseModel):
    """A published comment as every reader sees it."""

    comment_id: str
    post_id: str
    parent_id: str | None = Field(None, description="The comment this one answers.")
    depth: int = Field(description="1 for a top-level comment; replies nest to depth 3.")
    author_name: str
    by_member: bool
    body_html: str
    created_at: str
    replies: list[CommentView] = Field(default_factory=list)


class SubmitResult(BaseModel):
    comment_id: str
    status: Literal["pending", "approved"]
    comment: CommentView | None = Field(None, description="The comment, once it is published.")


class CommentPage(BaseModel):
    post_id: str
    count: int = Field(description="Approved comments on the post, in all pages.")
    comments: list[CommentView] = Field(description="Threads, oldest first.")
    next_cursor: str | None = None


class CommentCounts(BaseModel):
    counts: dict[str, int]


class ReportIn(FormFriendly):
    model_config = ConfigDict(str_strip_whitespace=True)

    reason: str = Field(description="A reason code from GET /comment-policy.")
    note: Annotated[str | None, Field(max_length=1000)] = None

    @field_validator("note", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_to_none(value)

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        codes = get_config().reason_codes
        if value not in codes:
            raise ValueError("must be one of " + ", ".join(sorted(codes)))
        return value


class ReportResult(BaseModel):
    status: Literal["received"] = "received"
    comment_id: str
    post_id: str


class PolicyView(BaseModel):
    title: str
    text: str
    reason_codes: list[ReasonCode]
    max_body_chars: int = MAX_BODY_CHARS
    max_links: int


# ---------------------------------------------------------------- moderation's side


class ModeratedComment(BaseModel):
    """A comment as a moderator sees it: with the author's email and the raw text."""

    comment_id: str
    post_id: str
    parent_id: str | None
    status: CommentStatus
    version: int
    author_name: str
    author_email: str | None
    by_member: bool
    body: str
    body_html: str
    flags: list[str]
    report_count: int
    hidden: bool
    created_at: str
    queued_at: str | None = None


class QueuePage(BaseModel):
    items: list[ModeratedComment]
    next_cursor: str | None = None


class BlockIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    kind: BlockKind
    value: Annotated[str, Field(min_length=1, max_length=254)]


class BlockView(BaseModel):
    kind: BlockKind
    value: str = Field(description="Emails are shown masked; they are stored as a keyed hash.")
    created_at: str
    created_by: str | None = None
