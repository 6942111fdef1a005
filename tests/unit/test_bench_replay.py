"""The bench's replay control starts from the state the handler started from.

The warm and scale figures divide a handler's time by the time of replaying its DynamoDB
calls on a plain client (bench/harness.py). Replayed on the state the handler left, a
write is not the same work: a DeleteItem finds nothing, a conditional PutItem fails, an
ADD counts twice. `Writes` reads what each write is about to change and puts it back
before the replay, so the replayed calls make the same changes the handler's made.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.harness import Before, Writes

pytestmark = pytest.mark.usefixtures("aws")


def _client() -> Any:
    return boto3.client("dynamodb", region_name="eu-west-2")


def _table() -> str:
    return os.environ["TABLE_NAME"]


def _key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"BENCH#{name}"}, "sk": {"S": "A"}}


def _item(name: str) -> dict[str, Any] | None:
    return _client().get_item(TableName=_table(), Key=_key(name), ConsistentRead=True).get("Item")


def _calls() -> list[tuple[str, dict[str, Any]]]:
    """What one request of a handler might send: every kind of write, and a read."""
    table = _table()
    return [
        ("GetItem", {"TableName": table, "Key": _key("counter")}),
        (
            "UpdateItem",
            {
                "TableName": table,
                "Key": _key("counter"),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
        ),
        (
            "PutItem",
            {
                "TableName": table,
                "Item": {**_key("new"), "v": {"S": "made"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            },
        ),
        ("DeleteItem", {"TableName": table, "Key": _key("gone"), "ReturnValues": "ALL_OLD"}),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {**_key("txn"), "v": {"S": "t"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": _key("counter"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": table,
                            "Key": _key("tally"),
                            "UpdateExpression": "ADD m :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            },
        ),
        (
            "BatchWriteItem",
            {
                "RequestItems": {
                    table: [
                        {"PutRequest": {"Item": {**_key("batch"), "v": {"S": "b"}}}},
                        {"DeleteRequest": {"Key": _key("batch-gone")}},
                    ]
                }
            },
        ),
    ]


def _send(operation: str, params: dict[str, Any]) -> Any:
    from botocore import xform_name

    return getattr(_client(), xform_name(operation))(**params)


def _state() -> dict[str, Any]:
    return {n: _item(n) for n in ("counter", "tally", "new", "gone", "txn", "batch", "batch-gone")}


@pytest.fixture
def start(aws: None) -> None:
    client = _client()
    client.put_item(TableName=_table(), Item={**_key("counter"), "n": {"N": "5"}})
    client.put_item(TableName=_table(), Item={**_key("gone"), "v": {"S": "here"}})
    client.put_item(TableName=_table(), Item={**_key("batch-gone"), "v": {"S": "here"}})


def _handler_run(writes: Writes) -> Before:
    """The calls as the harness sees a handler's: each write read just before it is sent."""
    before: Before = {}
    for operation, params in _calls():
        writes.snapshot(operation, params, before)
        _send(operation, params)
    return before


@pytest.mark.usefixtures("start")
def test_the_replay_after_a_restore_makes_the_changes_the_handler_made() -> None:
    writes = Writes(_client())
    before = _handler_run(writes)
    after_handler = _state()
    assert after_handler["counter"]["n"] == {"N": "6"}
    assert after_handler["gone"] is None and after_handler["new"] is not None

    writes.restore(before)
    assert _state()["counter"]["n"] == {"N": "5"}, "restored as the request found it"
    assert _state()["gone"] == {**_key("gone"), "v": {"S": "here"}}
    assert _state()["new"] is None and _state()["txn"] is None and _state()["tally"] is None

    # Every replayed write succeeds: the conditional puts find no item, the delete finds one.
    deleted = None
    for operation, params in _calls():
        answer = _send(operation, params)
        if operation == "DeleteItem":
            deleted = answer.get("Attributes")
    assert deleted == {**_key("gone"), "v": {"S": "here"}}
    assert _state() == after_handler, "the ADDs counted once, as the handler's did"


@pytest.mark.usefixtures("start")
def test_without_the_restore_the_same_calls_are_other_work() -> None:
    """Why the restore is there: on the state the handler left, the calls differ."""
    _handler_run(Writes(_client()))
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        _send(*_calls()[2])
    assert "Attributes" not in _send(*_calls()[3]), "nothing left to delete"
    _send(*_calls()[1])
    assert _item("counter")["n"] == {"N": "7"}, "an ADD replayed counts twice"


@pytest.mark.usefixtures("start")
def test_an_item_written_twice_in_a_request_is_put_back_as_the_request_found_it() -> None:
    writes = Writes(_client())
    before: Before = {}
    update = _calls()[1]
    for _ in range(2):
        writes.snapshot(*update, before)
        _send(*update)
    assert _item("counter")["n"] == {"N": "7"}

    writes.restore(before)
    assert _item("counter")["n"] == {"N": "5"}


def test_reads_and_condition_checks_change_nothing_so_are_not_read() -> None:
    writes = Writes(_client())
    table = _table()
    assert writes.keys("GetItem", {"TableName": table, "Key": _key("a")}) == []
    assert writes.keys("Query", {"TableName": table}) == []
    check = {
        "ConditionCheck": {
            "TableName": table,
            "Key": _key("a"),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    assert writes.keys("TransactWriteItems", {"TransactItems": [check]}) == []
