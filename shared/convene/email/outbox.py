"""The outbox: how every capability asks for an email.

A service never calls SES. It adds `put(message)` to the DynamoDB transaction that makes
the change the email is about, so the email exists exactly when the change does:

    transact_write([
        seat_taken_update,
        registration_put,
        outbox.put(OutboxMessage(
            kind="registration_confirmed",
            to=registration.email,
            data={"event": outbox.event_facts(event), "joining_url": ..., "manage_url": ...},
            ics=IcsEvent(uid=f"convene-{event.id}-{registration.id}", ...),
            dedupe_key=f"REG#{registration.id}#confirmed",
        )),
    ])

The Notifications function sends each new item once. `KINDS` below is the contract: the
data each kind of email needs (docs/email.md explains each one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from convene.aws import client
from convene.db import to_item
from convene.settings import get_settings
from convene.timefmt import utc_iso, zone

ListKind = Literal["reminders", "replies", "digest"]
IcsMethod = Literal["REQUEST", "CANCEL"]

# Recipients that are roles, not people: Notifications resolves them from its environment
# (stack parameters ModeratorsAddress, OrganisersAddress), so no service needs the address.
MODERATORS = "role:moderators"
ORGANISERS = "role:organisers"
ROLES = frozenset({MODERATORS, ORGANISERS})

RETENTION = timedelta(days=30)
PENDING = "pending"

# Deliberately plain: SES wants ASCII addresses, and anything odd is refused at the source.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# The dedupe key becomes the item key and appears in logs: ids only, never an address.
_DEDUPE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9#:._/-]{0,199}$")


@dataclass(frozen=True)
class KindSpec:
    """What one kind of email needs in `data`, whether it carries a calendar file, and
    whether people may opt out of it (which adds List-Unsubscribe)."""

    needs: tuple[str, ...]
    optional: tuple[str, ...] = ()
    ics: IcsMethod | None = None
    list_kind: ListKind | None = None


KINDS: dict[str, KindSpec] = {
    "registration_confirm_request": KindSpec(("event", "confirm_url"), ("name", "expires_hours")),
    "registration_confirmed": KindSpec(
        ("event", "joining_url", "manage_url"), ("name",), ics="REQUEST"
    ),
    "registration_waitlisted": KindSpec(("event", "position", "manage_url"), ("name",)),
    "waitlist_offer": KindSpec(
        ("event", "accept_url", "offer_expires_at", "manage_url"), ("name",), ics="REQUEST"
    ),
    "offer_lapsed": KindSpec(("event", "event_url"), ("name",)),
    "registration_cancelled": KindSpec(("event", "event_url"), ("name",)),
    "event_reminder": KindSpec(
        ("event", "joining_url", "manage_url"), ("name",), ics="REQUEST", list_kind="reminders"
    ),
    "event_changed": KindSpec(
        ("event", "manage_url"), ("name", "previous", "joining_url"), ics="REQUEST"
    ),
    "event_cancelled": KindSpec(("event",), ("name", "reason", "event_url"), ics="CANCEL"),
    "organiser_message": KindSpec(("event", "subject", "body", "manage_url"), ("name",)),
    "interest_received": KindSpec(("series", "from_name", "contact_email", "message")),
    "comment_published": KindSpec(("post", "comment_url"), ("name",), list_kind="replies"),
    "comment_reply": KindSpec(
        ("post", "comment_url", "reply_author", "reply_excerpt"), ("name",), list_kind="replies"
    ),
    "moderation_digest": KindSpec(
        ("pending_count", "reported_count", "oldest_waiting_since", "console_url"),
        ("spam_next_deletion_at", "timezone"),
        list_kind="digest",
    ),
}


# ---------------------------------------------------------------- shapes inside `data`


class EventFacts(BaseModel):
    """`data["event"]`: what an email says about a workshop. Times are UTC; the email
    shows them in `timezone`, with the zone named."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone(name)
        return name


class PreviousTimes(BaseModel):
    """`data["previous"]` on event_changed: the times before the change."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime


class PostFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    title: str = Field(min_length=1, max_length=300)
    url: str = Field(pattern=r"^https?://")


class SeriesFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    title: str = Field(min_length=1, max_length=200)


_SHAPES: dict[str, type[BaseModel]] = {
    "event": EventFacts,
    "previous": PreviousTimes,
    "post": PostFacts,
    "series": SeriesFacts,
}


def event_facts(event: Any) -> dict[str, str]:
    """`data["event"]` from anything with title, starts_at, ends_at and timezone."""
    return {
        "title": event.title,
        "starts_at": utc_iso(event.starts_at),
        "ends_at": utc_iso(event.ends_at),
        "timezone": event.timezone,
    }


# ---------------------------------------------------------------- the message


class IcsEvent(BaseModel):
    """The calendar file attached to an email. Keep `uid` stable for one person's place at
    one event (every email about it carries the same UID) and raise `sequence` whenever
    the event changes or is cancelled, so calendars update the entry instead of adding
    one."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    uid: str = Field(min_length=1, max_length=255, pattern=r"^\S+$")
    sequence: int = Field(0, ge=0)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str
    url: str | None = None
    method: IcsMethod = "REQUEST"

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(microsecond=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone(name)
        return name

    @field_validator("url")
    @classmethod
    def _web_link(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) link")
        return url

    @model_validator(mode="after")
    def _ends_after_start(self) -> IcsEvent:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def _is_address(value: str) -> bool:
    return len(value) <= 254 and bool(_ADDRESS.match(value))


def _plain(value: Any, where: str) -> Any:
    """Template data as DynamoDB stores it: str, int, Decimal, bool, None, lists, maps.
    Aware datetimes become UTC strings; floats are refused (the table takes no floats)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[]") for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{where}: a time needs a zone")
        return utc_iso(value)
    if isinstance(value, float):
        raise ValueError(f"{where}: use int or Decimal, not float")
    if value is None or isinstance(value, str | int | Decimal | bool):
        return value
    raise ValueError(f"{where}: {type(value).__name__} cannot be stored")


class OutboxMessage(BaseModel):
    """One email, as a service asks for it.

    kind: the template (a key of KINDS). to: the address, or MODERATORS / ORGANISERS.
    data: the template's variables (KINDS[kind] says which). ics: the calendar file, for
    the kinds that carry one. list_kind: set from the kind; opt-out mail carries
    List-Unsubscribe. dedupe_key: one per email that should exist once (ids only, e.g.
    "REG#<id>#confirmed"); a second put with the same key fails its transaction's
    condition, so a retried request never queues a second email.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: str
    to: str = Field(max_length=254)
    data: dict[str, Any] = Field(default_factory=dict)
    ics: IcsEvent | None = None
    list_kind: ListKind | None = None
    reply_to: str | None = Field(None, max_length=254)
    dedupe_key: str

    @field_validator("to")
    @classmethod
    def _recipient(cls, to: str) -> str:
        to = to.strip()
        if to in ROLES or _is_address(to):
            return to
        # The value itself is never echoed: validation messages reach logs.
        raise ValueError("must be an email address, MODERATORS or ORGANISERS")

    @field_validator("reply_to")
    @classmethod
    def _reply_address(cls, value: str | None) -> str | None:
        if value is not None and not _is_address(value.strip()):
            raise ValueError("must be an email address")
        return value.strip() if value else value

    @field_validator("dedupe_key")
    @classmethod
    def _dedupe_key(cls, key: str) -> str:
        if not _DEDUPE_KEY.match(key):
            raise ValueError("ids only: letters, digits and # : . _ / - (no addresses)")
        return key

    @model_validator(mode="after")
    def _fits_its_kind(self) -> OutboxMessage:
        spec = KINDS.get(self.kind)
        if spec is None:
            # Named only if it looks like a kind: a value that is not one stays out of logs.
            named = f" {self.kind!r}" if re.fullmatch(r"[a-z][a-z_]{0,63}", self.kind) else ""
            raise ValueError(f"unknown kind{named}")
        data = _plain(self.data, "data")
        missing = [k for k in spec.needs if k not in data]
        if missing:
            raise ValueError(f"{self.kind} needs data {', '.join(missing)}")
        unknown = sorted(set(data) - set(spec.needs) - set(spec.optional))
        if unknown:
            raise ValueError(f"{self.kind} takes no data {', '.join(unknown)}")
        for key, shape in _SHAPES.items():
            if data.get(key) is not None:
                try:
                    shape.model_validate(data[key])
                except ValidationError as exc:
                    fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
                    raise ValueError(f"data.{key} is not valid: {fields}") from None
        for key, value in data.items():
            if key.endswith("_url") and not str(value).startswith(("https://", "http://")):
                raise ValueError(f"data.{key} must be an http(s) link")
        self.data = data
        if spec.ics and self.ics is None:
            raise ValueError(f"{self.kind} carries a calendar file: ics is required")
        if spec.ics and self.ics and self.ics.method != spec.ics:
            raise ValueError(f"{self.kind} takes an ics with method {spec.ics}")
        if self.list_kind is None:
            self.list_kind = spec.list_kind
        elif self.list_kind != spec.list_kind:
            raise ValueError(f"{self.kind} is not opt-out mail of kind {self.list_kind}")
        return self

    @property
    def pk(self) -> str:
        return f"MSG#{self.dedupe_key}"


def item(message: OutboxMessage, *, now: datetime | None = None) -> dict[str, Any]:
    """The outbox item (plain form), as Notifications will read it."""
    now = now or datetime.now(UTC)
    return {
        "pk": message.pk,
        "kind": message.kind,
        "to": message.to,
        "data": message.data,
        "ics": message.ics.model_dump(mode="json") if message.ics else None,
        "list_kind": message.list_kind,
        "reply_to": message.reply_to,
        "dedupe_key": message.dedupe_key,
        "status": PENDING,
        "attempts": 0,
        "created_at": utc_iso(now),
        "expires_at": int((now + RETENTION).timestamp()),
    }


def put(message: OutboxMessage, *, now: datetime | None = None) -> dict[str, Any]:
    """A TransactWriteItems entry that queues the email, once per dedupe key.

    If the key exists the whole transaction is cancelled ("ConditionalCheckFailed" at this
    entry's index in TransactionCancelled.reasons): the email was already asked for.
    """
    return {
        "Put": {
            "TableName": get_settings().outbox_table_name,
            "Item": to_item(item(message, now=now)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def send_now(message: OutboxMessage, *, now: datetime | None = None) -> bool:
    """Queues an email that goes with no state change (one conditional PutItem).
    False if an email with this dedupe key was already queued."""
    try:
        client("dynamodb").put_item(**put(message, now=now)["Put"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def from_item(stored: Mapping[str, Any]) -> OutboxMessage:
    """The message back from a stored item (plain form)."""
    fields = ("kind", "to", "data", "ics", "list_kind", "reply_to", "dedupe_key")
    return OutboxMessage.model_validate({k: stored[k] for k in fields if stored.get(k) is not None})
