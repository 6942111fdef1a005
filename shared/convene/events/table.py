"""Events and series in MainTable: the only module that knows their keys and expressions.

    event    pk EVENT#<id>     sk EVENT
             gsi1pk EVENTS#published          gsi1sk <starts_at UTC>#<id>   (published only)
             gsi2pk SERIES#<series>#events    gsi2sk <starts_at UTC>#<id>   (published, in a series)
    series   pk SERIES#<id>    sk SERIES

The GSI keys are written only while an event is published, so both indexes are sparse:
drafts and cancelled events are never listed, and "upcoming" is a key condition
(gsi1sk >= now), never a filter. docs/tables.md has the whole design.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from convene.aws import table as aws_table
from convene.db import TransactionCancelled, to_item, transact_write, values
from convene.events.models import Event
from convene.settings import get_settings
from convene.timefmt import utc_iso

EVENT_SK = "EVENT"
SERIES_SK = "SERIES"
PUBLISHED = "EVENTS#published"

Index = Literal["gsi1", "gsi2"]

# Attributes an organiser's edit rewrites; anything else on the item (seats_taken, and
# whatever registrations keep there) is left alone by an update.
EDITABLE = (
    "title",
    "summary",
    "series_id",
    "starts_at",
    "ends_at",
    "timezone",
    "capacity",
    "audience",
    "waitlist",
    "joining_url",
    "registration_closes_at",
    "reminders_minutes_before",
    "questions",
    "retention_days",
    "status",
    "sequence",
    "updated_at",
    "updated_by",
    "published_at",
)
LISTING_KEYS = ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")


class EventExists(Exception):
    pass


class SeriesMissing(Exception):
    pass


class UpdateRefused(Exception):
    """A condition on an update failed; the service reads the item again to say why."""


def _table() -> Any:
    return aws_table(get_settings().table_name)


def event_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": EVENT_SK}


def series_key(series_id: str) -> dict[str, str]:
    return {"pk": f"SERIES#{series_id}", "sk": SERIES_SK}


def series_partition(series_id: str) -> str:
    return f"SERIES#{series_id}#events"


def listing_sort_key(starts_at: datetime, event_id: str) -> str:
    return f"{utc_iso(starts_at)}#{event_id}"


def listing_keys(event: Event) -> dict[str, str]:
    """The sparse index keys an event carries: none unless it is published."""
    if event.status != "published":
        return {}
    sort_key = listing_sort_key(event.starts_at, event.id)
    keys = {"gsi1pk": PUBLISHED, "gsi1sk": sort_key}
    if event.series_id:
        keys |= {"gsi2pk": series_partition(event.series_id), "gsi2sk": sort_key}
    return keys


def _stored(value: Any) -> Any:
    """Python values to what DynamoDB stores: datetimes as UTC text, ints as they are."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, float):  # never store a float (conventions); none is expected
        return Decimal(str(value))
    if isinstance(value, list):
        return [_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    return value


def event_item(event: Event) -> dict[str, Any]:
    data = _stored(event.model_dump())
    return {**event_key(event.id), "entity": "event", **data, **listing_keys(event)}


def insert_event(event: Event) -> None:
    """Writes a new event; EventExists if the id is taken, SeriesMissing if its series is."""
    item = event_item(event)
    if not event.series_id:
        try:
            _table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise EventExists(event.id) from exc
            raise
        return
    name = get_settings().table_name
    try:
        transact_write(
            [
                {
                    "Put": {
                        "TableName": name,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": to_item(series_key(event.series_id)),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise EventExists(event.id) from exc
        raise SeriesMissing(event.series_id) from exc


def get_event_item(event_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        _table().get_item(Key=event_key(event_id), ConsistentRead=True).get("Item")
    )
    return item


def update_event(event: Event, *, expected_version: int, series_changed: bool) -> None:
    """Rewrites the editable fields of `event` (already at its new version) if the stored
    item is still at `expected_version`, not cancelled, and has no more seats taken than
    the new capacity. UpdateRefused otherwise; SeriesMissing if a new series does not exist.
    """
    stored = event_item(event)
    attrs = (*EDITABLE, *LISTING_KEYS)
    names = {f"#{a}": a for a in (*attrs, "version")}
    vals: dict[str, Any] = {
        ":expected": expected_version,
        ":version": event.version,
        ":cancelled": "cancelled",
    }
    sets = ["#version = :version"]
    removes = []
    for attr in attrs:
        if stored.get(attr) is None:
            removes.append(f"#{attr}")
        else:
            sets.append(f"#{attr} = :{attr}")
            vals[f":{attr}"] = stored[attr]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    # :capacity is the new capacity, set above: never fewer seats than are already taken.
    condition = (
        "attribute_exists(pk) AND #version = :expected AND #status <> :cancelled"
        " AND seats_taken <= :capacity"
    )
    key = event_key(event.id)
    if not (series_changed and event.series_id):
        try:
            _table().update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=vals,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise UpdateRefused(event.id) from exc
            raise
        return
    name = get_settings().table_name
    try:
        transact_write(
            [
                {
                    "Update": {
                        "TableName": name,
                        "Key": to_item(key),
                        "UpdateExpression": expression,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values(vals),
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": to_item(series_key(event.series_id)),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise UpdateRefused(event.id) from exc
        raise SeriesMissing(event.series_id) from exc


def query_listing(
    *,
    index: Index,
    partition: str,
    from_sort_key: str,
    limit: int,
    start_key: Mapping[str, str] | None,
) -> list[dict[str, Any]]:
    """Up to `limit` published events of one listing partition, in start order, from a
    sort key on (a key condition: bounded, whatever the table holds)."""
    args: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": Key(f"{index}pk").eq(partition)
        & Key(f"{index}sk").gte(from_sort_key),
        "Limit": limit,
    }
    if start_key:
        args["ExclusiveStartKey"] = dict(start_key)
    items: list[dict[str, Any]] = _table().query(**args).get("Items", [])
    return items


def page_key(item: Mapping[str, Any], index: Index) -> dict[str, str]:
    """The LastEvaluatedKey DynamoDB would give for `item` in `index`."""
    return {k: str(item[k]) for k in ("pk", "sk", f"{index}pk", f"{index}sk")}


def put_series(series_id: str, *, title: str, summary: str, now: datetime) -> None:
    _table().update_item(
        Key=series_key(series_id),
        UpdateExpression=(
            "SET #title = :title, #summary = :summary, #entity = :entity, #id = :id,"
            " updated_at = :now, created_at = if_not_exists(created_at, :now)"
        ),
        ExpressionAttributeNames={
            "#title": "title",
            "#summary": "summary",
            "#entity": "entity",
            "#id": "id",
        },
        ExpressionAttributeValues={
            ":title": title,
            ":summary": summary,
            ":entity": "series",
            ":id": series_id,
            ":now": utc_iso(now),
        },
    )


def get_series_item(series_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = _table().get_item(Key=series_key(series_id)).get("Item")
    return item
