"""Registrations in MainTable: the only module that knows their keys and expressions.

    registration  pk REG#<id>                 sk REG
                  gsi1pk REGS#<event>         gsi1sk <state>#<since>#<id>     (always)
                  gsi2pk WAITLIST#<event>     gsi2sk <position, 8 digits>     (while waitlisted)
                  gsi2pk OFFERS               gsi2sk <offer expiry>#<id>      (while offered)
    person        pk PERSON#<email hash>      sk EVENT#<event>   -> registration_id
                  pk PERSON#<email hash>      sk INTEREST#<id>   (an interest message)
    token         pk TOKEN#<sha256>           sk TOKEN
    notice        pk NOTICE#<id>              sk NOTICE
                  gsi2pk NOTICES              gsi2sk <created>#<id>           (until done)
    reminder      pk REMINDER#<event>         sk <starts_at>#<minutes, 5 digits>
    interest      pk INTEREST#<series>        sk <created>#<id>

and, on the event item (pk EVENT#<id>, sk EVENT, written by events), the counters that
registrations keep: seats_taken (confirmed + offered), waiting (on the waiting list),
waitlist_next (the last waiting-list ticket given), notified_sequence, and personal_until
(the TTL its registrants' personal items are being moved to; registrations.retention).

Every registration write is a Put conditional on the version that was read, so two
writers never both win. docs/tables.md has the whole design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from convene import db
from convene.aws import table as aws_table
from convene.db import (
    TransactionCancelled,
    from_item,
    pause,
    to_item,
    transact_write,
    values,
)
from convene.errors import Unavailable
from convene.events import table as events_table
from convene.events.models import Event
from convene.registrations.models import Registration, Token
from convene.settings import get_settings
from convene.timefmt import utc_iso

REG_SK = "REG"
TOKEN_SK = "TOKEN"  # noqa: S105 - a key prefix, not a secret
NOTICE_SK = "NOTICE"
OFFERS = "OFFERS"
NOTICES = "NOTICES"

# Contention on one event item is normal (everyone wants the last seat): retry, bounded.
MAX_ATTEMPTS = 60
TIME_BUDGET = 8.0
_CONTENTION = {"TransactionConflict", "TransactionConflictException"}


def _table() -> Any:
    return aws_table(get_settings().table_name)


def _name() -> str:
    return get_settings().table_name


# ---------------------------------------------------------------- keys


def registration_key(registration_id: str) -> dict[str, str]:
    return {"pk": f"REG#{registration_id}", "sk": REG_SK}


def person_key(email_hash: str, event_id: str) -> dict[str, str]:
    return {"pk": f"PERSON#{email_hash}", "sk": f"EVENT#{event_id}"}


def token_key(hashed: str) -> dict[str, str]:
    return {"pk": f"TOKEN#{hashed}", "sk": TOKEN_SK}


def notice_key(notice_id: str) -> dict[str, str]:
    return {"pk": f"NOTICE#{notice_id}", "sk": NOTICE_SK}


def reminder_key(event_id: str, starts_at: datetime, minutes: int) -> dict[str, str]:
    return {"pk": f"REMINDER#{event_id}", "sk": f"{utc_iso(starts_at)}#{minutes:05d}"}


def registrations_partition(event_id: str) -> str:
    return f"REGS#{event_id}"


def waitlist_partition(event_id: str) -> str:
    return f"WAITLIST#{event_id}"


def placing_partition(event_id: str) -> str:
    return f"PLACING#{event_id}"


# ---------------------------------------------------------------- the event's counters


@dataclass(frozen=True)
class EventState:
    """The event as registrations need it: the stored event and the counters kept on it."""

    event: Event
    waiting: int
    waitlist_next: int
    notified_sequence: int
    personal_until: int | None = None

    @property
    def id(self) -> str:
        return self.event.id


def load_event(event_id: str) -> EventState | None:
    item = events_table.get_event_item(event_id)
    return event_state(item) if item is not None else None


def event_state(item: Mapping[str, Any]) -> EventState:
    return EventState(
        event=Event.model_validate(item),
        waiting=int(item.get("waiting", 0)),
        waitlist_next=int(item.get("waitlist_next", 0)),
        notified_sequence=int(item.get("notified_sequence", 0)),
        personal_until=int(item["personal_until"]) if "personal_until" in item else None,
    )


def _batch_get(keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Strongly consistent BatchGetItem of these keys (a link must see its own writes)."""
    return db.batch_get(_name(), keys, consistent=True, attempts=5)


def get_registration_and_event(
    registration_id: str, event_id: str
) -> tuple[Registration | None, EventState | None]:
    """A registration and its event in one call (BatchGetItem, strongly consistent): a
    link's token names both."""
    keys = [registration_key(registration_id), events_table.event_key(event_id)]
    found = _batch_get(keys)
    reg = next((i for i in found if i.get("sk") == REG_SK), None)
    event = next((i for i in found if i.get("sk") == events_table.EVENT_SK), None)
    return (
        Registration.model_validate(reg) if reg else None,
        event_state(event) if event else None,
    )


def _event_update(
    event_id: str,
    expression: str,
    condition: str,
    vals: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": _name(),
        "Key": to_item(events_table.event_key(event_id)),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": values(vals),
        # A failed condition hands back the event as it is: the retry needs no read.
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    names = dict(names or {})
    if "#capacity" in condition:
        names["#capacity"] = "capacity"  # a reserved word
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


_OPEN = "#status = :published AND registration_closes_at > :now"
_NO_WAITING = "(attribute_not_exists(waiting) OR waiting = :zero)"


def _is(attribute: str, placeholder: str, value: int) -> str:
    """`attribute` equals the value read (a counter not written yet reads as 0)."""
    if value == 0:
        return f"(attribute_not_exists({attribute}) OR {attribute} = {placeholder})"
    return f"{attribute} = {placeholder}"


def place_batch(state: EventState, *, seats: int, waiting: int, now: datetime) -> dict[str, Any]:
    """Seats and waiting-list tickets for a batch of confirmed registrations, decided on
    the counters as read: the update holds only if none of them moved since. The ticket
    counter moves in the same transaction as the registrations, so tickets have no gaps
    and no repeats."""
    event = state.event
    return _event_update(
        state.id,
        "SET seats_taken = :new_taken, waiting = :new_waiting, waitlist_next = :new_next",
        f"{_OPEN} AND #capacity = :capacity AND seats_taken = :taken"
        f" AND {_is('waiting', ':waiting', state.waiting)}"
        f" AND {_is('waitlist_next', ':next', state.waitlist_next)}",
        {
            ":new_taken": event.seats_taken + seats,
            ":new_waiting": state.waiting + waiting,
            ":new_next": state.waitlist_next + waiting,
            ":capacity": event.capacity,
            ":taken": event.seats_taken,
            ":waiting": state.waiting,
            ":next": state.waitlist_next,
            ":published": "published",
            ":now": utc_iso(now),
        },
        {"#status": "status"},
    )


def pass_seat(state: EventState) -> dict[str, Any]:
    """A seat goes from one registrant straight to the first on the waiting list: seats
    taken stay as they are, one fewer waits."""
    return _event_update(
        state.id,
        "ADD waiting :minus_one",
        "waiting > :zero AND seats_taken <= #capacity",
        {":minus_one": -1, ":zero": 0},
    )


def free_seat(state: EventState, now: datetime) -> dict[str, Any]:
    """A seat is given back. Only when nobody waits for it, or registration has closed
    (then no offer may go out): never a free seat while someone waits and it is open."""
    return _event_update(
        state.id,
        "ADD seats_taken :minus_one",
        "seats_taken > :zero AND ("
        f"{_NO_WAITING} OR registration_closes_at <= :now OR #status <> :published)",
        {":minus_one": -1, ":zero": 0, ":now": utc_iso(now), ":published": "published"},
        {"#status": "status"},
    )


def offer_free_seat(state: EventState, now: datetime) -> dict[str, Any]:
    """A free seat (after capacity was raised) goes to the first on the waiting list."""
    return _event_update(
        state.id,
        "ADD seats_taken :one, waiting :minus_one",
        f"{_OPEN} AND seats_taken < #capacity AND waiting > :zero",
        {":one": 1, ":minus_one": -1, ":zero": 0, ":published": "published", ":now": utc_iso(now)},
        {"#status": "status"},
    )


def leave_waitlist(state: EventState) -> dict[str, Any]:
    return _event_update(
        state.id, "ADD waiting :minus_one", "waiting > :zero", {":minus_one": -1, ":zero": 0}
    )


def release_counts(event_id: str, *, seats: int, waiting: int) -> dict[str, Any]:
    """Counters after a cancelled event lets a registrant go (no condition on openness)."""
    return _event_update(
        event_id,
        "ADD seats_taken :seats, waiting :waiting",
        "attribute_exists(pk)",
        {":seats": -seats, ":waiting": -waiting},
    )


def cancel_event(state: EventState, now: datetime) -> dict[str, Any]:
    """The event is cancelled: off the public listings, SEQUENCE + 1 for calendars, and a
    new version so an organiser's edit read before this one cannot undo it."""
    return _event_update(
        state.id,
        "SET #status = :cancelled, #sequence = #sequence + :one, #version = #version + :one,"
        " updated_at = :now REMOVE gsi1pk, gsi1sk, gsi2pk, gsi2sk",
        "#status <> :cancelled AND #version = :version",
        {
            ":cancelled": "cancelled",
            ":one": 1,
            ":now": utc_iso(now),
            ":version": state.event.version,
        },
        {"#status": "status", "#sequence": "sequence", "#version": "version"},
    )


def mark_notified(state: EventState, sequence: int) -> dict[str, Any]:
    return _event_update(
        state.id,
        "SET notified_sequence = :sequence",
        "attribute_not_exists(notified_sequence) OR notified_sequence < :sequence",
        {":sequence": sequence},
    )


# ---------------------------------------------------------------- registrations


def _iso(value: datetime | None) -> str | None:
    return utc_iso(value) if value else None


def registration_item(reg: Registration, *, expires_at: int) -> dict[str, Any]:
    since = reg.updated_at
    item: dict[str, Any] = {
        **registration_key(reg.id),
        "entity": "registration",
        "id": reg.id,
        "event_id": reg.event_id,
        "state": reg.state,
        "name": reg.name,
        "email": reg.email,
        "member_sub": reg.member_sub,
        "answers": reg.answers or None,
        "position": reg.position,
        "created_at": _iso(reg.created_at),
        "updated_at": _iso(reg.updated_at),
        "confirm_by": _iso(reg.confirm_by),
        "confirming_since": _iso(reg.confirming_since),
        "joined_place": reg.joined_place,
        "confirmed_at": _iso(reg.confirmed_at),
        "offered_at": _iso(reg.offered_at),
        "offer_expires_at": _iso(reg.offer_expires_at),
        "cancelled_at": _iso(reg.cancelled_at),
        "last_sent_at": _iso(reg.last_sent_at),
        "reminded": set(reg.reminded) or None,
        "version": reg.version,
        "person_hash": reg.person_hash,
        "manage_tokens": set(reg.manage_tokens) or None,
        "personal_until": reg.personal_until,
        "expires_at": expires_at,
        "gsi1pk": registrations_partition(reg.event_id),
        "gsi1sk": f"{reg.state}#{utc_iso(since)}#{reg.id}",
    }
    if reg.state == "pending_confirmation" and reg.confirming_since is not None:
        waiting_since = utc_iso(reg.confirming_since)
        item |= {"gsi2pk": placing_partition(reg.event_id), "gsi2sk": f"{waiting_since}#{reg.id}"}
    elif reg.state == "waitlisted" and reg.position is not None:
        item |= {"gsi2pk": waitlist_partition(reg.event_id), "gsi2sk": f"{reg.position:08d}"}
    elif reg.state == "offered" and reg.offer_expires_at is not None:
        item |= {"gsi2pk": OFFERS, "gsi2sk": f"{utc_iso(reg.offer_expires_at)}#{reg.id}"}
    return item


def put_registration(
    reg: Registration, *, expires_at: int, read_version: int | None
) -> dict[str, Any]:
    """The registration as it now is; `read_version` is the version it was read at (None:
    a new registration). The caller has already raised `reg.version`."""
    put: dict[str, Any] = {
        "TableName": _name(),
        "Item": to_item(registration_item(reg, expires_at=expires_at)),
    }
    if read_version is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "#version = :read"
        put["ExpressionAttributeNames"] = {"#version": "version"}
        put["ExpressionAttributeValues"] = values({":read": read_version})
    return {"Put": put}


def get_registration(registration_id: str) -> Registration | None:
    item = _table().get_item(Key=registration_key(registration_id), ConsistentRead=True).get("Item")
    return Registration.model_validate(item) if item else None


def get_registrations(registration_ids: Sequence[str]) -> list[Registration]:
    """Up to 100 registrations in one call (BatchGetItem), in no particular order."""
    if not registration_ids:
        return []
    found = _batch_get([registration_key(r) for r in registration_ids])
    return [Registration.model_validate(i) for i in found]


def confirming(event_id: str, *, limit: int) -> list[Registration]:
    """Registrations waiting to be placed, oldest first (the index may lag a little: the
    transaction's conditions have the last word)."""
    items = (
        _table()
        .query(
            IndexName="gsi2",
            KeyConditionExpression=Key("gsi2pk").eq(placing_partition(event_id)),
            Limit=limit,
        )
        .get("Items", [])
    )
    return [Registration.model_validate(i) for i in items]


def first_waiting(
    event_id: str, *, skip: Sequence[str] = (), limit: int = 5
) -> Registration | None:
    """The first on the waiting list (lowest ticket), read again strongly consistently."""
    items = (
        _table()
        .query(
            IndexName="gsi2",
            KeyConditionExpression=Key("gsi2pk").eq(waitlist_partition(event_id)),
            Limit=limit,
        )
        .get("Items", [])
    )
    for item in items:
        if item["id"] in skip:
            continue
        reg = get_registration(str(item["id"]))
        if reg is not None and reg.state == "waitlisted":
            return reg
    return None


def places_ahead(event_id: str, position: int) -> int:
    """How many wait ahead of a ticket (a count over keys only; one page holds thousands)."""
    count = 0
    start: dict[str, Any] | None = None
    for _ in range(3):
        args: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": Key("gsi2pk").eq(waitlist_partition(event_id))
            & Key("gsi2sk").lt(f"{position:08d}"),
            "Select": "COUNT",
        }
        if start:
            args["ExclusiveStartKey"] = start
        answer = _table().query(**args)
        count += int(answer.get("Count", 0))
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    return count


def registrations_in_state(
    event_id: str, state: str, *, limit: int, start_key: Mapping[str, Any] | None = None
) -> tuple[list[Registration], dict[str, Any] | None]:
    """One page of an event's registrations in one state, oldest change first."""
    args: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": Key("gsi1pk").eq(registrations_partition(event_id))
        & Key("gsi1sk").begins_with(f"{state}#"),
        "Limit": limit,
    }
    if start_key:
        args["ExclusiveStartKey"] = dict(start_key)
    answer = _table().query(**args)
    regs = [Registration.model_validate(i) for i in answer.get("Items", [])]
    return regs, answer.get("LastEvaluatedKey")


def all_registrations(
    event_id: str, *, limit: int, start_key: Mapping[str, Any] | None = None
) -> tuple[list[Registration], dict[str, Any] | None]:
    args: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": Key("gsi1pk").eq(registrations_partition(event_id)),
        "Limit": limit,
    }
    if start_key:
        args["ExclusiveStartKey"] = dict(start_key)
    answer = _table().query(**args)
    return [Registration.model_validate(i) for i in answer.get("Items", [])], answer.get(
        "LastEvaluatedKey"
    )


def lapsed_offers(now: datetime, *, limit: int) -> list[str]:
    """Ids of offers whose time is up, soonest first."""
    items = (
        _table()
        .query(
            IndexName="gsi2",
            KeyConditionExpression=Key("gsi2pk").eq(OFFERS)
            & Key("gsi2sk").lte(f"{utc_iso(now)}#~"),
            Limit=limit,
        )
        .get("Items", [])
    )
    return [str(i["id"]) for i in items]


# ---------------------------------------------------------------- people


def get_person(email_hash: str, event_id: str) -> str | None:
    item = _table().get_item(Key=person_key(email_hash, event_id), ConsistentRead=True).get("Item")
    return str(item["registration_id"]) if item else None


def put_person(
    email_hash: str, event_id: str, registration_id: str, *, expires_at: int, replacing: str | None
) -> dict[str, Any]:
    """One person, one registration per event: the email's keyed hash (never the email)
    points at the registration. A new one may replace only the registration that was read."""
    put: dict[str, Any] = {
        "TableName": _name(),
        "Item": to_item(
            {
                **person_key(email_hash, event_id),
                "entity": "person",
                "registration_id": registration_id,
                "event_id": event_id,
                "expires_at": expires_at,
            }
        ),
    }
    if replacing is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "registration_id = :replacing"
        put["ExpressionAttributeValues"] = values({":replacing": replacing})
    # Refused: the person item as it is comes back, so a repeat needs no read to find it.
    put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Put": put}


def pointer_of(item: Mapping[str, Any] | None) -> str | None:
    """The registration a person item (as a failed transaction handed it back) points at."""
    return str(item["registration_id"]) if item and item.get("registration_id") else None


def put_interest_person(
    email_hash: str, interest_id: str, series_id: str, *, expires_at: int
) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _name(),
            "Item": to_item(
                {
                    "pk": f"PERSON#{email_hash}",
                    "sk": f"INTEREST#{interest_id}",
                    "entity": "person",
                    "series_id": series_id,
                    "interest_key": json.dumps(interest_key_of(series_id, interest_id)),
                    "expires_at": expires_at,
                }
            ),
        }
    }


def person_items(email_hash: str, *, limit: int = 500) -> list[dict[str, Any]]:
    """Everything indexed under one person (bounded: one person's registrations)."""
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while len(items) < limit:
        args: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"PERSON#{email_hash}"),
            "ConsistentRead": True,
        }
        if start:
            args["ExclusiveStartKey"] = start
        answer = _table().query(**args)
        items.extend(answer.get("Items", []))
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    return items[:limit]


def delete(key: Mapping[str, str]) -> dict[str, Any]:
    return {"Delete": {"TableName": _name(), "Key": to_item(dict(key))}}


# ---------------------------------------------------------------- tokens


def put_token(hashed: str, token: Token) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _name(),
            "Item": to_item(
                {
                    **token_key(hashed),
                    "entity": "token",
                    "purpose": token.purpose,
                    "registration_id": token.registration_id,
                    "event_id": token.event_id,
                    "expires": utc_iso(token.expires),
                    "expires_at": int(token.expires.timestamp()) + 86_400,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def manage_token_hashes(entries: Sequence[Mapping[str, Any]]) -> set[str]:
    """The hashes of the manage tokens that transaction entries (an email's) put."""
    found = set()
    for entry in entries:
        item = entry.get("Put", {}).get("Item", {})
        if item.get("entity") == {"S": "token"} and item.get("purpose") == {"S": "manage"}:
            found.add(item["pk"]["S"].removeprefix("TOKEN#"))
    return found


def record_manage_tokens(reg: Registration, hashes: set[str], *, expires_at: int) -> dict[str, Any]:
    """For an email that does not rewrite the registration (a notice): the registration
    records the manage tokens it carries, and their TTL (the event's, as the sender read
    it). `version` goes up, so a writer that read the registration before writes again
    instead of dropping them; it must exist (no email to an erased registration)."""
    return {
        "Update": {
            "TableName": _name(),
            "Key": to_item(registration_key(reg.id)),
            "UpdateExpression": "ADD manage_tokens :tokens, #version :one SET expires_at = :ttl",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": values(
                {":tokens": set(hashes), ":one": 1, ":ttl": expires_at}
            ),
        }
    }


def get_token(hashed: str) -> Token | None:
    item = _table().get_item(Key=token_key(hashed), ConsistentRead=True).get("Item")
    return Token.model_validate(item) if item else None


# ---------------------------------------------------------------- personal data follows the event


def move_registration_ttl(reg: Registration, *, ttl: int, own_ttl: bool) -> dict[str, Any]:
    """The registration records that its personal items now carry `ttl` (and carries it
    itself, unless it is an unconfirmed one: that keeps its own short TTL). Never
    recreates an item that is gone (erased, expired)."""
    sets = ["personal_until = :ttl"] + (["expires_at = :ttl"] if own_ttl else [])
    return {
        "Update": {
            "TableName": _name(),
            "Key": to_item(registration_key(reg.id)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": values({":ttl": ttl}),
        }
    }


def move_person_ttl(
    email_hash: str, event_id: str, registration_id: str, *, ttl: int
) -> dict[str, Any]:
    """The person item's TTL, if it still exists and still points at this registration."""
    return {
        "Update": {
            "TableName": _name(),
            "Key": to_item(person_key(email_hash, event_id)),
            "UpdateExpression": "SET expires_at = :ttl",
            "ConditionExpression": "attribute_exists(pk) AND registration_id = :id",
            "ExpressionAttributeValues": values({":ttl": ttl, ":id": registration_id}),
        }
    }


def move_token_expiry(hashed: str, *, until: datetime) -> dict[str, Any]:
    """A manage token works until the personal data goes, and is removed a day later."""
    return {
        "Update": {
            "TableName": _name(),
            "Key": to_item(token_key(hashed)),
            "UpdateExpression": "SET expires = :until, expires_at = :ttl",
            "ConditionExpression": "attribute_exists(pk) AND purpose = :manage",
            "ExpressionAttributeValues": values(
                {
                    ":until": utc_iso(until),
                    ":ttl": int(until.timestamp()) + 86_400,
                    ":manage": "manage",
                }
            ),
        }
    }


def follow_personal_data(state: EventState, ttl: int) -> dict[str, Any]:
    """The event's registrants' personal items are to carry `ttl` from now: recorded once
    (a second starter fails), and only if the event is still the version read."""
    return _event_update(
        state.id,
        "SET personal_until = :ttl",
        "#version = :version AND (attribute_not_exists(personal_until) OR personal_until <> :ttl)",
        {":ttl": ttl, ":version": state.event.version},
        {"#version": "version"},
    )


# ---------------------------------------------------------------- notices


def put_notice(notice: Mapping[str, Any]) -> dict[str, Any]:
    item = {
        **notice_key(notice["id"]),
        "entity": "notice",
        **notice,
        "gsi2pk": NOTICES,
        "gsi2sk": f"{notice['created_at']}#{notice['id']}",
    }
    return {
        "Put": {
            "TableName": _name(),
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def get_notice(notice_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        _table().get_item(Key=notice_key(notice_id), ConsistentRead=True).get("Item")
    )
    return item


def save_notice_progress(
    notice_id: str,
    *,
    step: int,
    cursor: str | None,
    sent: int,
    done: bool,
    extra: Mapping[str, Any] | None = None,
) -> None:
    names = {"#step": "step", "#cursor": "cursor", "#sent": "sent"}
    vals: dict[str, Any] = {":step": step, ":sent": sent}
    sets = ["#step = :step", "#sent = :sent"]
    for n, (name, value) in enumerate(sorted((extra or {}).items())):
        names[f"#x{n}"] = name
        vals[f":x{n}"] = value
        sets.append(f"#x{n} = :x{n}")
    removes = []
    if cursor is None:
        removes.append("#cursor")
    else:
        sets.append("#cursor = :cursor")
        vals[":cursor"] = cursor
    if done:
        removes += ["gsi2pk", "gsi2sk"]
        sets.append("done = :true")
        vals[":true"] = True
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    _table().update_item(
        Key=notice_key(notice_id),
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=vals,
    )


def save_walk_progress(
    notice_id: str,
    *,
    step: int,
    cursor: str | None,
    moved: int,
    unsettled: int,
    began: str,
    done: bool,
) -> None:
    """Where a personal-data walk (a notice without email) got to: its pass (`step`),
    the cursor in it, and what the pass found so far."""
    save_notice_progress(
        notice_id,
        step=step,
        cursor=cursor,
        sent=moved,
        done=done,
        extra={"unsettled": unsettled, "pass_began": began},
    )


def pending_notices(*, limit: int) -> list[str]:
    items = (
        _table()
        .query(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(NOTICES), Limit=limit)
        .get("Items", [])
    )
    return [str(i["id"]) for i in items]


# ---------------------------------------------------------------- reminders


def reminder_progress(event_id: str, starts_at: datetime) -> dict[int, dict[str, Any]]:
    """Which of an event's reminders (for this start time) are done, and where a reminder
    that is under way got to."""
    items = (
        _table()
        .query(
            KeyConditionExpression=Key("pk").eq(f"REMINDER#{event_id}")
            & Key("sk").begins_with(f"{utc_iso(starts_at)}#"),
            ConsistentRead=True,
        )
        .get("Items", [])
    )
    return {int(str(i["sk"]).rsplit("#", 1)[1]): i for i in items}


def save_reminder_progress(
    event_id: str,
    starts_at: datetime,
    minutes: int,
    *,
    cursor: str | None,
    done: bool,
    expires_at: int,
) -> None:
    item: dict[str, Any] = {
        **reminder_key(event_id, starts_at, minutes),
        "entity": "reminder",
        "done": done,
        "expires_at": expires_at,
    }
    if cursor:
        item["cursor"] = cursor
    _table().put_item(Item=item)


def upcoming_events(now: datetime, *, limit: int) -> list[dict[str, Any]]:
    """Published events not yet started, soonest first (the events' own listing index)."""
    return events_table.query_listing(
        index="gsi1",
        partition=events_table.PUBLISHED,
        from_sort_key=utc_iso(now),
        limit=limit,
        start_key=None,
    )


# ---------------------------------------------------------------- interest


def interest_key_of(series_id: str, interest_id: str) -> dict[str, str]:
    return {"pk": f"INTEREST#{series_id}", "sk": interest_id}


def put_interest(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _name(),
            "Item": to_item(dict(item)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def get_item(key: Mapping[str, str]) -> dict[str, Any] | None:
    item: dict[str, Any] | None = _table().get_item(Key=dict(key), ConsistentRead=True).get("Item")
    return item


# ---------------------------------------------------------------- transactions


def item_after_failure(exc: TransactionCancelled, index: int) -> dict[str, Any] | None:
    """The item as the failed transaction found it (entry `index`, one asked with
    ReturnValuesOnConditionCheckFailure), if DynamoDB handed it back."""
    cause = exc.__cause__
    if not isinstance(cause, ClientError):
        return None
    reasons = cause.response.get("CancellationReasons", [])
    item = reasons[index].get("Item") if index < len(reasons) else None
    if not item or "sk" not in item:
        return None
    return from_item(item)


def event_after_failure(exc: TransactionCancelled, index: int) -> EventState | None:
    """The event item as the failed transaction found it (entry `index`), if DynamoDB
    handed it back."""
    item = item_after_failure(exc, index)
    return event_state(item) if item else None


class Contention(Exception):
    """Another transaction held an item this one needed: try again shortly."""


def transact(items: Sequence[Mapping[str, Any]]) -> None:
    """One transaction. TransactionCancelled when a condition failed (its reasons say
    which); Contention when another transaction got in the way."""
    try:
        transact_write(items)
    except (ReadTimeoutError, ConnectionClosedError) as exc:
        # It may or may not have been applied: the caller reads again before deciding.
        raise Contention() from exc
    except ClientError as exc:
        error = exc.response.get("Error", {}).get("Code", "")
        reasons = {r.get("Code", "") for r in exc.response.get("CancellationReasons", [])}
        if error in _CONTENTION or reasons & _CONTENTION:
            raise Contention() from exc
        raise
    except TransactionCancelled:
        raise


def attempts(limit: int = MAX_ATTEMPTS) -> Iterator[int]:
    """Attempt numbers, with a jittered, growing wait between them, for at most `limit`
    attempts and TIME_BUDGET seconds. Then the service is busy: 503 with Retry-After,
    and nothing was written (a registration is never half made)."""
    deadline = time.monotonic() + TIME_BUDGET
    for attempt in range(limit):
        pause(attempt)
        yield attempt
        if time.monotonic() > deadline:
            break
    raise Unavailable(
        "Too many people are registering right now; try again in a moment.",
        headers={"Retry-After": "2"},
    )
