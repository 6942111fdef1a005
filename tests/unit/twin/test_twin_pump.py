"""The stream pump: DynamoDB Local's streams fed to functions as Lambda's event source
mappings feed them (batches, filters, partial failures, retries, on-failure queue)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import template
from infra.local.pump import StreamPump, matches, stream_mappings
from infra.local.runtime import Runtime
from tests.unit.twin.fixtures import recorder
from tests.unit.twin.fixtures.support import DynamoDBLocal

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = json.loads((ROOT / "events" / "dynamodb-stream.json").read_text())["Records"][0]


class FakeSqs:
    """Records send_message calls (the on-failure destination)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": str(uuid.uuid4())}


class Stack:
    def __init__(self, ddb: DynamoDBLocal, doc: dict) -> None:
        self.client = ddb.client("dynamodb")
        self.streams = ddb.client("dynamodbstreams")
        self.tables = template.create_tables(self.client, f"twin-{uuid.uuid4().hex[:8]}", doc)

    def put(self, table: str, pk: str, **attrs: str) -> None:
        item = {"pk": {"S": pk}, **{k: {"S": v} for k, v in attrs.items()}}
        self.client.put_item(TableName=self.tables[table], Item=item)


@pytest.fixture
def stack(dynamodb_local: DynamoDBLocal, doc: dict) -> Stack:
    return Stack(dynamodb_local, doc)


@pytest.fixture
def sqs() -> FakeSqs:
    return FakeSqs()


@pytest.fixture
def pump(runtime: Runtime, doc: dict, stack: Stack, sqs: FakeSqs) -> Iterator[StreamPump]:
    pump = StreamPump(
        runtime,
        doc,
        streams_client=stack.streams,
        table_names=stack.tables,
        sqs_client=sqs,
        queue_urls={"FailureQueue": "http://127.0.0.1:1/123456789012/failures"},
        retry_backoff=0.001,
        poll_interval=0.02,
    )
    yield pump
    pump.stop()


def new_batches(key: str, before: int) -> list[Any]:
    return recorder.calls(key)[before:]


def test_the_template_mappings_are_read(doc: dict) -> None:
    mappings = {m.function_id: m for m in stream_mappings(doc)}

    outbox = mappings["ConsumerFunction"]
    assert (outbox.table, outbox.batch_size, outbox.starting_position) == (
        "OutboxTable",
        2,
        "TRIM_HORIZON",
    )
    assert outbox.filters == [{"eventName": ["INSERT"]}]
    poison = mappings["PoisonFunction"]
    assert (poison.max_retries, poison.bisect, poison.on_failure) == (2, True, "FailureQueue")
    assert mappings["PartialFunction"].report_item_failures is True
    assert mappings["PartialFunction"].max_retries == 10_000  # -1: until success, capped


def test_inserts_are_delivered_in_batches_and_a_filter_drops_modifies(
    pump: StreamPump, stack: Stack
) -> None:
    before = len(recorder.calls("consumer.batches"))
    for key in ("MSG#1", "MSG#2", "MSG#3"):
        stack.put("OutboxTable", key, template="registration_confirmed")
    stack.put("OutboxTable", "MSG#1", template="registration_confirmed", sent="yes")  # MODIFY

    assert pump.drain(timeout=20)

    batches = new_batches("consumer.batches", before)
    assert [len(b) for b in batches] == [2, 1]
    records = [r for b in batches for r in b]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["MSG#1", "MSG#2", "MSG#3"]
    assert {r["eventName"] for r in records} == {"INSERT"}
    first = records[0]
    assert set(first) == set(SAMPLE)
    assert set(SAMPLE["dynamodb"]) <= set(first["dynamodb"])
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventVersion"] == "1.1"
    assert first["awsRegion"] == "eu-west-2"
    assert first["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-2:123456789012:table/")
    assert first["dynamodb"]["NewImage"]["template"] == {"S": "registration_confirmed"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_a_running_pump_delivers_what_is_written_after_it_started(
    pump: StreamPump, stack: Stack
) -> None:
    before = len(recorder.calls("consumer.batches"))
    pump.start()
    assert pump.drain(timeout=20)
    stack.put("OutboxTable", "MSG#late", template="reminder")

    assert pump.drain(timeout=20)

    keys = [
        r["dynamodb"]["Keys"]["pk"]["S"] for b in new_batches("consumer.batches", before) for r in b
    ]
    assert keys == ["MSG#late"]


def test_a_partial_batch_failure_retries_from_the_failed_record_only(
    pump: StreamPump, stack: Stack
) -> None:
    run = uuid.uuid4().hex[:6]
    keys = [f"JOB#{run}-{i}" for i in range(1, 6)]
    before = len(recorder.calls("partial.batches"))
    for i, key in enumerate(keys, start=1):
        if i == 3:
            stack.put("JobsTable", key, fail_once="yes")
        else:
            stack.put("JobsTable", key)

    assert pump.drain(timeout=20)

    assert new_batches("partial.batches", before) == [keys, keys[2:]]
    done = recorder.calls("partial.done")
    assert [done.count(k) for k in keys] == [1, 1, 1, 1, 1]  # nothing done twice


def test_a_poison_record_goes_to_the_failure_queue_and_the_rest_are_delivered(
    pump: StreamPump, stack: Stack, sqs: FakeSqs
) -> None:
    from aws_lambda_powertools.utilities.parser.models import (
        DynamoDBStreamLambdaOnFailureDestinationModel,
    )

    run = uuid.uuid4().hex[:6]
    keys = [f"P#{run}-{i}" for i in range(1, 6)]
    for key in keys:
        if key.endswith("-2"):
            stack.put("PoisonTable", key, poison="yes")
        else:
            stack.put("PoisonTable", key)

    assert pump.drain(timeout=20)

    done = recorder.calls("poison.done")
    assert [done.count(k) for k in keys] == [1, 0, 1, 1, 1]
    attempts = [a for a in recorder.calls("poison.attempts") if a[0].startswith(f"P#{run}")]
    # Bisected down to the poison record, then 1 try + MaximumRetryAttempts (2) on it alone.
    assert attempts.count([keys[1]]) == 3
    assert len(sqs.sent) == 1
    message = json.loads(sqs.sent[0]["MessageBody"])
    assert sqs.sent[0]["QueueUrl"] == "http://127.0.0.1:1/123456789012/failures"
    DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(message)
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert info["streamArn"].startswith("arn:aws:dynamodb:eu-west-2:123456789012:table/")


@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        ({"eventName": ["INSERT"]}, {"eventName": "INSERT"}, True),
        ({"eventName": ["INSERT"]}, {"eventName": "MODIFY"}, False),
        ({"eventName": ["INSERT", "MODIFY"]}, {"eventName": "MODIFY"}, True),
        (
            {"dynamodb": {"NewImage": {"kind": {"S": ["email"]}}}},
            {"dynamodb": {"NewImage": {"kind": {"S": "email"}}}},
            True,
        ),
        (
            {"dynamodb": {"NewImage": {"kind": {"S": ["email"]}}}},
            {"dynamodb": {"NewImage": {"kind": {"S": "sms"}}}},
            False,
        ),
        ({"dynamodb": {"NewImage": {"kind": {"S": ["email"]}}}}, {"dynamodb": {"Keys": {}}}, False),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, {"dynamodb": {"NewImage": {}}}, True),
        (
            {"dynamodb": {"NewImage": {"sent": {"S": [{"exists": True}]}}}},
            {"dynamodb": {"NewImage": {"sent": {"S": "yes"}}}},
            True,
        ),
        (
            {"dynamodb": {"NewImage": {"sent": {"S": [{"exists": True}]}}}},
            {"dynamodb": {"NewImage": {}}},
            False,
        ),
        ({"key": [{"prefix": "MSG#"}]}, {"key": "MSG#1"}, True),
        ({"key": [{"anything-but": ["a", "b"]}]}, {"key": "c"}, True),
        ({"key": [{"anything-but": ["a", "b"]}]}, {"key": "a"}, False),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, True),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 6}, False),
        ({"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}, True),
    ],
)
def test_filter_patterns_match_as_eventbridge_does(
    pattern: dict, record: dict, expected: bool
) -> None:
    assert matches(pattern, record) is expected
