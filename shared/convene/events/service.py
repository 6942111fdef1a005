"""Events: the use cases. Organisers create drafts, edit and publish them; anyone reads
published events; other capabilities read the stored event through `get_event`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from convene.errors import Conflict, Gone, Invalid, NotFound
from convene.events import table
from convene.events.models import (
    ID_PATTERN,
    AdminEvent,
    Event,
    EventDraft,
    EventPage,
    EventPatch,
    PublicEvent,
    Series,
    SeriesIn,
)
from convene.timefmt import parse_utc, utc_iso

MAX_PAGE = 100
_ID = re.compile(ID_PATTERN)
_CURSOR_MAX_CHARS = 1024
_SORT_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z#(?P<id>.+)$")


def _now() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(6)


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """A pydantic error as the API's `fields`: one message per field."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ())) or "body"
        fields.setdefault(name, str(err.get("msg", "is not valid")).removeprefix("Value error, "))
    return fields


# ---------------------------------------------------------------- series


def put_series(series_id: str, series: SeriesIn, *, now: datetime | None = None) -> None:
    """Creates the series or rewrites its title and summary (idempotent)."""
    if not _ID.fullmatch(series_id):
        raise Invalid(
            "The series id is not valid.", fields={"series_id": "letters, digits, - and _"}
        )
    table.put_series(series_id, title=series.title, summary=series.summary, now=now or _now())


def get_series(series_id: str) -> Series:
    item = table.get_series_item(series_id) if _ID.fullmatch(series_id) else None
    if item is None:
        raise NotFound("There is no such series.")
    return Series.model_validate(item)


# ---------------------------------------------------------------- organisers


def _stored_fields(draft: EventDraft) -> dict[str, Any]:
    fields = draft.model_dump()
    fields["joining_url"] = str(draft.joining_url) if draft.joining_url else None
    fields["registration_closes_at"] = draft.registration_closes_at or draft.starts_at
    return fields


def create_event(
    draft: EventDraft,
    *,
    organiser: str,
    event_id: str | None = None,
    now: datetime | None = None,
) -> AdminEvent:
    """A new draft event. Conflict if `event_id` is taken; Invalid if the series does not exist."""
    now = now or _now()
    event_id = event_id or new_event_id()
    if not _ID.fullmatch(event_id):
        raise Invalid("The event id is not valid.", fields={"id": "letters, digits, - and _"})
    event = Event(
        **_stored_fields(draft),
        id=event_id,
        status="draft",
        version=1,
        sequence=0,
        seats_taken=0,
        organiser=organiser,
        created_at=now,
        updated_at=now,
    )
    try:
        table.insert_event(event)
    except table.EventExists as exc:
        raise Conflict("An event with this id already exists.", fields={"id": "taken"}) from exc
    except table.SeriesMissing as exc:
        raise Invalid(
            "Some fields need attention.", fields={"series_id": "there is no such series"}
        ) from exc
    return AdminEvent.of(event)


def update_event(
    event_id: str,
    patch: EventPatch,
    *,
    organiser: str,
    now: datetime | None = None,
) -> AdminEvent:
    """Applies the fields sent in `patch` (and publishes a draft on `status: published`).

    The write is conditional on the version read here, so of two concurrent edits one
    wins and the other gets a Conflict instead of silently overwriting it.
    """
    now = now or _now()
    current = get_event(event_id)
    if current.status == "cancelled":
        raise Gone("This event was cancelled; it can no longer be edited.")
    if patch.version is not None and patch.version != current.version:
        raise _stale(current.version)

    changes = patch.model_dump(exclude_unset=True, exclude={"status", "version"})
    publishing = patch.status == "published" and current.status == "draft"
    if not changes and not publishing:
        return AdminEvent.of(current)  # nothing to change: no new version
    merged = current.draft_fields() | changes
    if (
        "starts_at" in changes
        and "registration_closes_at" not in changes
        and current.registration_closes_at == current.starts_at
    ):
        # Registration that closed at the start keeps closing at the start.
        merged["registration_closes_at"] = merged["starts_at"]
    try:
        draft = EventDraft.model_validate(merged)
    except ValidationError as exc:
        raise Invalid("Some fields need attention.", fields=validation_fields(exc)) from exc
    if draft.capacity < current.seats_taken:
        raise _seats_taken(current.seats_taken)

    moved = draft.starts_at != current.starts_at or draft.ends_at != current.ends_at
    updated = Event.model_validate(
        current.model_dump()
        | _stored_fields(draft)
        | {
            "status": "published" if publishing else current.status,
            "version": current.version + 1,
            "sequence": current.sequence + 1 if moved else current.sequence,
            "updated_at": now,
            "updated_by": organiser,
            "published_at": now if publishing else current.published_at,
        }
    )
    try:
        table.update_event(
            updated,
            expected_version=current.version,
            series_changed=updated.series_id != current.series_id,
        )
    except table.SeriesMissing as exc:
        raise Invalid(
            "Some fields need attention.", fields={"series_id": "there is no such series"}
        ) from exc
    except table.UpdateRefused as exc:
        raise _why_refused(
            event_id, expected_version=current.version, capacity=updated.capacity
        ) from exc
    return AdminEvent.of(updated)


def _stale(version: int) -> Conflict:
    return Conflict(
        "Someone changed this event since you loaded it; reload it and try again.",
        code="version_conflict",
        fields={"version": f"the event is now at version {version}"},
    )


def _seats_taken(seats_taken: int) -> Conflict:
    return Conflict(
        "The capacity cannot be lower than the seats already taken.",
        code="capacity_below_seats_taken",
        fields={"capacity": f"{seats_taken} seats are already taken"},
    )


def _why_refused(event_id: str, *, expected_version: int, capacity: int) -> Exception:
    # One more read, only after a refused write, to tell the organiser which rule failed.
    try:
        now_stored = get_event(event_id)
    except NotFound as exc:
        return exc
    if now_stored.status == "cancelled":
        return Gone("This event was cancelled; it can no longer be edited.")
    if now_stored.version != expected_version:
        return _stale(now_stored.version)
    if now_stored.seats_taken > capacity:
        return _seats_taken(now_stored.seats_taken)
    return _stale(now_stored.version)


# ---------------------------------------------------------------- readers


def get_event(event_id: str) -> Event:
    """The stored event, whatever its status (for organisers and other capabilities)."""
    item = table.get_event_item(event_id) if _ID.fullmatch(event_id) else None
    if item is None:
        raise NotFound("There is no such event.")
    return Event.model_validate(item)


def get_public_event(event_id: str, *, now: datetime | None = None) -> PublicEvent:
    """A published (or cancelled) event. A draft answers as if it did not exist."""
    event = get_event(event_id)
    if event.status == "draft":
        raise NotFound("There is no such event.")
    return PublicEvent.of(event, now=now or _now())


def list_upcoming(
    *,
    series_id: str | None = None,
    now: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> EventPage:
    """Published events starting at or after `now`, soonest first, a page at a time."""
    now = now or _now()
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("Some fields need attention.", fields={"limit": f"between 1 and {MAX_PAGE}"})
    if series_id is not None and not _ID.fullmatch(series_id):
        raise Invalid("Some fields need attention.", fields={"series": "is not a series id"})
    index: table.Index = "gsi2" if series_id else "gsi1"
    partition = table.series_partition(series_id) if series_id else table.PUBLISHED
    from_sort_key = utc_iso(now)
    start_key = decode_cursor(cursor, index=index, partition=partition) if cursor else None
    if start_key and start_key[f"{index}sk"] < from_sort_key:
        # Everything up to the cursor has started since: the page goes on from now.
        start_key = None

    # One more than asked, to know whether another page exists without an empty last page.
    items = table.query_listing(
        index=index,
        partition=partition,
        from_sort_key=from_sort_key,
        limit=limit + 1,
        start_key=start_key,
    )
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(table.page_key(page[-1], index)) if more else None
    return EventPage(
        items=[PublicEvent.of(Event.model_validate(item), now=now) for item in page],
        next_cursor=next_cursor,
    )


def encode_cursor(key: dict[str, str]) -> str:
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, index: table.Index, partition: str) -> dict[str, str]:
    """The start key inside a cursor this list handed out; Invalid (422 on `cursor`) for
    anything else, so no client-made key ever reaches DynamoDB."""
    bad = Invalid(
        "Some fields need attention.", fields={"cursor": "is not a cursor from this list"}
    )
    if len(cursor) > _CURSOR_MAX_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key: Any = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    expected = {"pk", "sk", f"{index}pk", f"{index}sk"}
    if not isinstance(key, dict) or set(key) != expected:
        raise bad
    if not all(isinstance(v, str) for v in key.values()):
        raise bad
    match = _SORT_KEY.fullmatch(key[f"{index}sk"])
    if (
        key[f"{index}pk"] != partition
        or key["sk"] != table.EVENT_SK
        or match is None
        or key["pk"] != table.event_key(match["id"])["pk"]
        or not _ID.fullmatch(match["id"])
    ):
        raise bad
    try:
        parse_utc(key[f"{index}sk"].split("#", 1)[0])
    except ValueError as exc:
        raise bad from exc
    return dict(key)
