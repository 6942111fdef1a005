"""Registrations: what a registrant sends, what is stored, and what each audience sees.

Public answers carry no email and no token; the registrant's own view shows their name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from convene.errors import Invalid
from convene.events.models import PublicQuestion, Question, UtcMoment

State = Literal["pending_confirmation", "confirmed", "waitlisted", "offered", "lapsed", "cancelled"]
# The states that hold a seat (counted in the event's `seats_taken`).
SEATED: frozenset[str] = frozenset({"confirmed", "offered"})
# The states an organiser's message, a time change or a cancellation reaches.
ACTIVE: tuple[State, ...] = ("confirmed", "offered", "waitlisted")
Audience = Literal["confirmed", "waiting", "all"]
AUDIENCES: dict[str, tuple[State, ...]] = {
    "confirmed": ("confirmed",),
    "waiting": ("offered", "waitlisted"),
    "all": ACTIVE,
}

REGISTRATION_ID_PATTERN = r"^reg_[a-f0-9]{32}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{20,100}$"  # noqa: S105 - a shape, not a secret
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")

Answer = str | bool | list[str]
TokenPurpose = Literal["confirm", "offer", "manage"]


def normalise_email(email: str) -> str:
    """One person, one registration: compare emails lowercased and trimmed (dots and
    +tags are kept: they may be different mailboxes)."""
    return email.strip().lower()


def _single(value: Any) -> Any:
    # A form post arrives as {"name": ["Ann"]}: one value per field.
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _form_fields(data: Any, scalars: set[str]) -> Any:
    """A form post (Powertools hands over lists) as the JSON body would be: scalar fields
    unwrapped, and `answer_<question id>` fields gathered into `answers`."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    answers: dict[str, Any] = (
        dict(data.get("answers") or {}) if isinstance(data.get("answers"), dict) else {}
    )
    for key, value in data.items():
        if key.startswith("answer_"):
            answers[key.removeprefix("answer_")] = value
        elif key in scalars:
            out[key] = _single(value)
        elif key != "answers":
            out[key] = value
    if answers or "answers" in data:
        out["answers"] = answers
    return out


def _checkbox(value: Any) -> Any:
    # HTML checkboxes send "on" (or a value) when ticked and nothing when not.
    if isinstance(value, str) and value.strip().lower() in {"on", "yes", "1", "true"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"", "off", "no", "0", "false"}:
        return False
    return value


def _plain_text(text: str) -> str:
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


# ---------------------------------------------------------------- inputs


class RegistrationIn(BaseModel):
    """A registration, as JSON or a form post. A signed-in member's email comes from the
    token; a guest gives it here. Answers to the event's questions go in `answers` (JSON)
    or as `answer_<question id>` fields (form)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=120)]
    email: Annotated[
        str | None,
        Field(max_length=254, description="Required for guests; kept private."),
    ] = None
    consent: bool = Field(
        False,
        validate_default=True,
        description="The registrant agrees to the privacy notice; must be true.",
    )
    answers: dict[str, Answer] = Field(
        default_factory=dict, description="Question id to answer.", max_length=30
    )
    website: Annotated[
        str | None, Field(max_length=2000, description="Leave empty (a trap for bots).")
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _from_form(cls, data: Any) -> Any:
        return _form_fields(data, {"name", "email", "consent", "website"})

    @field_validator("consent", mode="before")
    @classmethod
    def _consent_box(cls, value: Any) -> Any:
        return _checkbox(value)

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if not value:
            raise ValueError("agree to the privacy notice to register")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _plain_text(value).strip()
        if not value:
            raise ValueError("is required")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)


class TokenIn(BaseModel):
    """A link's token, when a form or a script sends it in the body."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    token: Annotated[str | None, Field(max_length=100)] = None

    @model_validator(mode="before")
    @classmethod
    def _from_form(cls, data: Any) -> Any:
        return _form_fields(data, {"token"})


class InterestIn(BaseModel):
    """ "Get in touch to help plan future workshops"."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=120)]
    email: Annotated[str, Field(max_length=254)]
    message: Annotated[str, Field(min_length=1, max_length=4000)]
    consent: bool = Field(False, validate_default=True)
    website: Annotated[str | None, Field(max_length=2000)] = None

    @model_validator(mode="before")
    @classmethod
    def _from_form(cls, data: Any) -> Any:
        return _form_fields(data, {"name", "email", "message", "consent", "website"})

    @field_validator("consent", mode="before")
    @classmethod
    def _consent_box(cls, value: Any) -> Any:
        return _checkbox(value)

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if not value:
            raise ValueError("agree to the privacy notice to send this")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        checked = _check_email(value)
        if checked is None:
            raise ValueError("is required")
        return checked

    @field_validator("name", "message")
    @classmethod
    def _text(cls, value: str) -> str:
        value = _plain_text(value).strip()
        if not value:
            raise ValueError("is required")
        return value


class MessageIn(BaseModel):
    """An organiser's email to some of an event's registrants."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    audience: Audience = Field(description="confirmed, waiting (waiting list and offers) or all")
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=10_000)]


class CancelEventIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: Annotated[str | None, Field(max_length=2000)] = None


# ---------------------------------------------------------------- answers


_TEXT_LIMITS = {"text": 500, "long_text": 5000}


def check_answers(questions: list[Question], answers: dict[str, Answer]) -> dict[str, Answer]:
    """The answers, checked against the event's own questions; Invalid (422) names each
    field that needs attention."""
    by_id = {q.id: q for q in questions}
    fields: dict[str, str] = {}
    checked: dict[str, Answer] = {}
    for qid in answers:
        if qid not in by_id:
            fields[f"answers.{qid}"] = "this event asks no such question"
    for q in questions:
        raw = answers.get(q.id)
        where = f"answers.{q.id}"
        if q.kind == "checkbox":
            value = _checkbox(_single(raw)) if raw is not None else False
            if not isinstance(value, bool):
                fields[where] = "must be ticked or not"
            elif q.required and not value:
                fields[where] = "must be ticked"
            else:
                checked[q.id] = value
            continue
        if q.kind == "choices":
            picked = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
            picked = [p.strip() for p in picked if isinstance(p, str) and p.strip()]
            if any(p not in q.options for p in picked):
                fields[where] = "pick from the options given"
            elif q.required and not picked:
                fields[where] = "is required"
            elif picked:
                checked[q.id] = sorted(set(picked), key=q.options.index)
            continue
        value = _single(raw)
        if isinstance(value, bool | list):
            fields[where] = "must be text"
            continue
        text = _plain_text(value or "").strip()
        if not text:
            if q.required:
                fields[where] = "is required"
            continue
        if q.kind == "choice" and text not in q.options:
            fields[where] = "pick one of the options given"
        elif q.kind in _TEXT_LIMITS and len(text) > _TEXT_LIMITS[q.kind]:
            fields[where] = f"at most {_TEXT_LIMITS[q.kind]} characters"
        else:
            checked[q.id] = text
    if fields:
        raise Invalid("Some answers need attention.", fields=fields)
    return checked


# ---------------------------------------------------------------- stored


class Registration(BaseModel):
    """One person's place at one event, as stored (pk REG#<id>)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    event_id: str
    state: State
    name: str
    email: str
    member_sub: str | None = None
    answers: dict[str, Answer] = Field(default_factory=dict)
    position: int | None = None  # the waiting-list ticket: 1, 2, 3... in joining order
    created_at: AwareDatetime
    updated_at: AwareDatetime
    confirm_by: AwareDatetime | None = None
    # The email is confirmed and the registration waits (briefly) to be placed.
    confirming_since: AwareDatetime | None = None
    joined_place: int | None = None  # the place on the waiting list when it joined
    confirmed_at: AwareDatetime | None = None
    offered_at: AwareDatetime | None = None
    offer_expires_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    last_sent_at: AwareDatetime | None = None
    reminded: set[str] = Field(default_factory=set)
    version: int = 0  # every write is conditional on the version read
    # The keyed hash of the email: names the person item (so moving its TTL needs no key).
    person_hash: str | None = None
    # SHA-256 hashes of the manage tokens sent for it (their TTL follows the event's).
    manage_tokens: set[str] = Field(default_factory=set)
    # As stored (read only): the item's TTL, and the TTL its person item and manage tokens
    # were given (registrations.retention compares both with the event's end + retention).
    expires_at: int | None = None
    personal_until: int | None = None

    @field_validator(
        "position", "version", "joined_place", "expires_at", "personal_until", mode="before"
    )
    @classmethod
    def _int(cls, value: Any) -> Any:
        return int(value) if value is not None else value

    def expired(self, now: datetime) -> bool:
        """An unconfirmed registration lapses after 48 hours (TTL removes it later)."""
        return (
            self.state == "pending_confirmation"
            and self.confirm_by is not None
            and now >= self.confirm_by
        )

    def finished(self, now: datetime) -> bool:
        """Nothing left of it: a new registration for the same person may replace it."""
        return self.state in {"cancelled", "lapsed"} or self.expired(now)


class Token(BaseModel):
    """A link's token as stored: only its SHA-256 hash is the key."""

    model_config = ConfigDict(extra="ignore")

    purpose: TokenPurpose
    registration_id: str
    event_id: str
    expires: AwareDatetime

    def valid(self, now: datetime) -> bool:
        return now < self.expires


# ---------------------------------------------------------------- outputs


class RegistrationResult(BaseModel):
    """What registering or confirming answers. A guest's answer is the same whatever the
    email: it never says whether that email is registered."""

    status: State
    message: str
    event_id: str
    registration_id: str | None = Field(
        None, description="Present for signed-in members and after confirming by link."
    )
    waitlist_position: int | None = Field(
        None, description="Place on the waiting list (1 is next), when waitlisted."
    )
    offer_expires_at: UtcMoment | None = None


class RegistrationEvent(BaseModel):
    id: str
    title: str
    starts_at: UtcMoment
    ends_at: UtcMoment
    timezone: str
    when: str
    status: Literal["published", "cancelled"]


class ManageView(BaseModel):
    """The registrant's own view (by the link in their emails): their name, not their email."""

    registration_id: str
    status: State
    name: str
    event: RegistrationEvent
    answers: dict[str, Answer]
    questions: list[PublicQuestion]
    waitlist_position: int | None = None
    offer_expires_at: UtcMoment | None = None
    joining_url: str | None = Field(None, description="Only once confirmed.")
    calendar_path: str = Field(description="GET this path (with the token) for the .ics file.")


class Attendee(BaseModel):
    """One row of the organisers' attendee list."""

    registration_id: str
    status: State
    name: str
    email: str
    member: bool
    registered_at: UtcMoment
    confirmed_at: UtcMoment | None
    waitlist_position: int | None
    offer_expires_at: UtcMoment | None
    answers: dict[str, Answer]


class AttendeeList(BaseModel):
    event_id: str
    capacity: int
    seats_taken: int
    counts: dict[str, int]
    items: list[Attendee]
    questions: list[PublicQuestion]


class NoticeResult(BaseModel):
    """An email to many registrants: queued now, sent in pages."""

    notice_id: str
    kind: str
    sent: int = Field(description="Emails queued so far")
    done: bool = Field(description="False: the scheduled run queues the rest within minutes.")


class InterestResult(BaseModel):
    status: Literal["received"] = "received"
    message: str = "Thank you: the organisers will be in touch."


REGISTRATION_ID_RE = re.compile(REGISTRATION_ID_PATTERN)
