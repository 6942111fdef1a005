"""Email under moto: a verified sender, the outbox, the Notifications and EmailFeedback
handlers, SES faults on demand, and a stand-in for Lambda's stream poller."""

from __future__ import annotations

import copy
import email
import email.policy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from convene import aws as convene_aws
from convene.db import from_item, to_item, transact_write
from convene.email import outbox
from convene.email.config import get_email_settings
from convene.email.outbox import OutboxMessage
from convene.settings import get_settings

from tests.helpers import EVENTS, LambdaContext, load_handler

SENDER = "events@community.example.org"
MODERATORS_INBOX = "moderators@community.example.org"
ORGANISERS_INBOX = "organisers@community.example.org"
CONFIGURATION_SET = "convene-unit"


@dataclass
class Mailbox:
    """What SES (moto) was asked to send, parsed back into messages."""

    def _backend(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"]

    def sent(self) -> list[EmailMessage]:
        return [
            email.message_from_string(m.raw_data, policy=email.policy.default)
            for m in self._backend().sent_messages
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent() if address in str(m["To"])]


@pytest.fixture
def mail(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """moto with the tables, a verified sender domain and the configuration set."""
    import boto3

    monkeypatch.setenv("SENDER_ADDRESS", SENDER)
    monkeypatch.setenv("SES_CONFIGURATION_SET", CONFIGURATION_SET)
    monkeypatch.setenv("MODERATORS_ADDRESS", MODERATORS_INBOX)
    monkeypatch.setenv("ORGANISERS_ADDRESS", ORGANISERS_INBOX)
    get_email_settings.cache_clear()
    sesv2 = boto3.client("sesv2", region_name="eu-west-2")
    sesv2.create_email_identity(EmailIdentity="community.example.org")
    sesv2.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    yield Mailbox()
    get_email_settings.cache_clear()


# ---------------------------------------------------------------- the outbox and its stream


def queue(*messages: OutboxMessage) -> list[dict[str, Any]]:
    """Writes each message to the outbox as a service would (one transaction each) and
    returns the items as stored."""
    for message in messages:
        transact_write([outbox.put(message)])
    return [stored_item(m.pk) for m in messages]


def stored_item(pk: str) -> dict[str, Any]:
    found = convene_aws.client("dynamodb").get_item(
        TableName=get_settings().outbox_table_name, Key={"pk": {"S": pk}}, ConsistentRead=True
    )
    return from_item(found["Item"])


_sequence = iter(range(10**20, 10**21))


def stream_record(item: dict[str, Any], event_name: str = "INSERT") -> dict[str, Any]:
    """A DynamoDB stream record for an outbox item, in the shape of events/dynamodb-stream.json."""
    sample = json.loads((EVENTS / "dynamodb-stream.json").read_text())["Records"][0]
    record = copy.deepcopy(sample)
    record["eventID"] = uuid.uuid4().hex
    record["eventName"] = event_name
    record["awsRegion"] = "eu-west-2"
    record["dynamodb"]["Keys"] = to_item({"pk": item["pk"]})
    record["dynamodb"]["NewImage"] = to_item(item)
    record["dynamodb"]["SequenceNumber"] = str(next(_sequence))
    record["dynamodb"]["SizeBytes"] = len(json.dumps(record["dynamodb"]["NewImage"]))
    record["eventSourceARN"] = (
        "arn:aws:dynamodb:eu-west-2:123456789012:table/convene-local-OutboxTable/stream/2021-07-01T00:00:00.000"
    )
    return record


def stream_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


@pytest.fixture
def notifications(mail: Mailbox) -> ModuleType:
    return load_handler("notifications")


@pytest.fixture
def email_feedback(aws: None) -> ModuleType:
    return load_handler("email_feedback")


def invoke(handler: ModuleType, records: list[dict[str, Any]]) -> list[str]:
    """One invocation with these records; the sequence numbers it reports as failed."""
    try:
        response = handler.lambda_handler(stream_event(records), LambdaContext())
    except BatchProcessingError:
        return [r["dynamodb"]["SequenceNumber"] for r in records]
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


@dataclass
class StreamRun:
    invocations: list[list[str]] = field(default_factory=list)  # sequence numbers per call
    failures: list[list[str]] = field(default_factory=list)  # reported per call
    dead_letters: list[dict[str, Any]] = field(default_factory=list)


def poll(
    handler: ModuleType,
    records: list[dict[str, Any]],
    *,
    batch_size: int = 10,
    max_retries: int = 5,
    before_each: Callable[[int], None] | None = None,
) -> StreamRun:
    """Lambda's stream poller, in the shape template.yaml asks for (BatchSize 10,
    ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts 5, OnFailure
    to the DLQ): a batch that reports failures is retried from the first failed record,
    records after it included, halving the batch each time; once a record has failed
    1 + max_retries times it goes to the DLQ and the poller moves past it."""
    run = StreamRun()
    position, size, failures_at_head = 0, batch_size, 0
    while position < len(records):
        if before_each:
            before_each(len(run.invocations))
        batch = records[position : position + size]
        failed = invoke(handler, batch)
        run.invocations.append([r["dynamodb"]["SequenceNumber"] for r in batch])
        run.failures.append(failed)
        if not failed:
            position, size, failures_at_head = position + len(batch), batch_size, 0
            continue
        first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
        if first > 0:
            position, failures_at_head = position + first, 0
        failures_at_head += 1
        size = max(1, (len(batch) - first) // 2)
        if failures_at_head > max_retries:
            run.dead_letters.append(records[position])
            position, size, failures_at_head = position + 1, batch_size, 0
    return run


# ---------------------------------------------------------------- SES faults


def ses_error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "SendEmail",
    )


@dataclass
class SesFaults:
    """Fails SES sends through a botocore event hook on the client Convene uses."""

    fail_next: int = 0  # the next n calls fail
    fail_calls: set[int] = field(default_factory=set)  # these calls (1, 2, ...) fail
    error: Callable[[], ClientError] = lambda: ses_error("TooManyRequestsException")
    calls: int = 0
    params: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.params.append(params)
        if self.calls in self.fail_calls:
            raise self.error()
        if self.fail_next > 0:
            self.fail_next -= 1
            raise self.error()


@pytest.fixture
def ses_faults(mail: Mailbox) -> Iterator[SesFaults]:
    faults = SesFaults()
    ses = convene_aws.client("sesv2")
    ses.meta.events.register("provide-client-params.sesv2.SendEmail", faults)
    yield faults
    ses.meta.events.unregister("provide-client-params.sesv2.SendEmail", faults)
