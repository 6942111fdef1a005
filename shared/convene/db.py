"""Low-level DynamoDB helpers shared by every capability's table module.

Transactions use the client API (typed attribute values); reads may use either. Each
capability's `table.py` is the only place that knows its key shapes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from convene.aws import client

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict (Decimals for numbers, no floats) to DynamoDB's typed form."""
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Expression attribute values in typed form."""
    return {k: _serializer.serialize(v) for k, v in data.items()}


class TransactionCancelled(Exception):
    """A condition in a transaction failed. `reasons` has one code per item, in order
    ("None" where that item's condition held)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


_RETRYABLE_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}


def transact_write(items: Sequence[Mapping[str, Any]]) -> None:
    try:
        client("dynamodb").transact_write_items(TransactItems=list(items))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
        if any(r in _RETRYABLE_REASONS for r in reasons):
            # Contention or throttling, not a failed rule: let the caller retry or answer 503.
            raise
        raise TransactionCancelled(reasons) from exc


BACKOFF_BASE = 0.01
BACKOFF_CAP = 1.0


def pause(attempt: int) -> None:
    """A jittered wait before retry `attempt` (none before the first): the window doubles
    for the first retries (so a crowd spreads out) up to BACKOFF_CAP, then stays there:
    every waiting caller has the same chance at each moment, so none starves behind
    newcomers."""
    if attempt:
        time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))


BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem


def batch_get(
    table_name: str,
    keys: Iterable[Mapping[str, Any]],
    *,
    fields: Iterable[str] | None = None,
    consistent: bool = False,
    attempts: int = 3,
) -> list[dict[str, Any]]:
    """Items by key (plain dicts in and out), `BATCH_GET_KEYS` keys a call.

    Duplicate keys (`pk`, `sk`) are asked for once. `fields` projects; the key attributes
    are always included. DynamoDB hands keys back unprocessed when it throttles: those
    are asked for again, after a `pause`, at most `attempts` times in all. A
    key still unprocessed then is left out, and the caller treats it as not found."""
    unique = list({(key["pk"], key["sk"]): key for key in keys}.values())
    shape: dict[str, Any] = {"ConsistentRead": consistent}
    if fields is not None:
        names = {f"#f{i}": f for i, f in enumerate(dict.fromkeys(["pk", "sk", *fields]))}
        shape["ProjectionExpression"] = ", ".join(names)
        shape["ExpressionAttributeNames"] = names
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), BATCH_GET_KEYS):
        chunk = [to_item(k) for k in unique[start : start + BATCH_GET_KEYS]]
        request: dict[str, Any] = {table_name: {**shape, "Keys": chunk}}
        for attempt in range(attempts):
            pause(attempt)
            answer = client("dynamodb").batch_get_item(RequestItems=request)
            found.extend(from_item(i) for i in answer.get("Responses", {}).get(table_name, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
    return found
