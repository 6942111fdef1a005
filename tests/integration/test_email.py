"""Email through the twin: an outbox item written to DynamoDB Local goes through the
stream pump to Notifications and moto's SES, and shows up decoded in /_local/mail;
SES feedback delivered through SNS suppresses an address; one-click unsubscribe over HTTP;
a poison record ends in the DLQ."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import boto3
from convene.db import from_item, to_item
from convene.email import outbox
from icalendar import Calendar

from tests.integration.twin import Twin
from tests.unit.email.samples import message

WHEN = "11:00-12:30 BST, Thursday 22 July 2021"


def _address(name: str) -> str:
    # Unique per run, so a twin reused across runs never mixes up its mail.
    return f"{name}+{uuid.uuid4().hex[:8]}@example.net"


def _dynamodb(twin: Twin) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=twin.config["dynamodb_endpoint"],
        region_name=twin.config["region"],
        aws_access_key_id="twin",
        aws_secret_access_key="twin",
    )


def _write(twin: Twin, item: dict[str, Any]) -> None:
    _dynamodb(twin).put_item(TableName=twin.config["tables"]["OutboxTable"], Item=to_item(item))


def _queue(twin: Twin, kind: str, to: str, **data: Any) -> str:
    msg = message(kind, to=to, dedupe_key=f"TWIN#{uuid.uuid4().hex}", **data)
    _write(twin, outbox.item(msg))
    return msg.pk


def _outbox_item(twin: Twin, pk: str) -> dict[str, Any]:
    found = _dynamodb(twin).get_item(
        TableName=twin.config["tables"]["OutboxTable"], Key={"pk": {"S": pk}}, ConsistentRead=True
    )
    return from_item(found["Item"])


def test_an_outbox_item_becomes_a_readable_email_with_a_calendar_file(twin: Twin) -> None:
    to = _address("amara.okafor")
    pk = _queue(twin, "registration_confirmed", to)

    twin.drain()

    (sent,) = twin.mail(to=to)
    assert sent["subject"] == "You're registered: Community Space"
    assert WHEN in sent["text"] and WHEN in sent["html"]
    (attachment,) = sent["attachments"]
    assert attachment["content_type"] == "text/calendar"
    assert attachment["filename"] == "invite.ics"
    calendar = Calendar.from_ical(attachment["text"])
    (event,) = calendar.events
    assert str(event["UID"]) == "convene-evt_cs2021jul-reg_7f3a9c"
    assert event.walk("VALARM")[0].decoded("TRIGGER").total_seconds() == -3600
    assert "List-Unsubscribe" not in sent["headers"]
    assert _outbox_item(twin, pk)["status"] == "sent"


def test_a_permanent_bounce_suppresses_the_address(twin: Twin) -> None:
    to = _address("jonah.reid")
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": to, "status": "5.1.1", "action": "failed"}],
            "timestamp": "2021-07-20T09:01:02.669Z",
            "feedbackId": "0102017ac1e3-twin-000000",
        },
        "mail": {"messageId": "0102017ac1e2-twin-000000", "destination": [to]},
    }

    delivered = twin.sns("EmailFeedbackTopic", bounce)

    assert [d["function"] for d in delivered["delivered_to"]] == ["EmailFeedbackFunction"]
    pk = _queue(twin, "registration_waitlisted", to)
    twin.drain()
    assert twin.mail(to=to) == []
    stored = _outbox_item(twin, pk)
    assert (stored["status"], stored["reason"]) == ("suppressed", "bounce")


def test_one_click_unsubscribe_stops_the_next_reminder(twin: Twin) -> None:
    to = _address("mei.lin")
    _queue(twin, "event_reminder", to)
    twin.drain()
    (first,) = twin.mail(to=to)
    link = first["headers"]["List-Unsubscribe"].strip("<>")
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    parts = urlsplit(link)
    response = twin.post(
        f"{parts.path}?{parts.query}",
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "unsubscribed", "kind": "reminders"}
    pk = _queue(twin, "event_reminder", to)
    twin.drain()
    assert len(twin.mail(to=to)) == 1
    assert _outbox_item(twin, pk)["status"] == "unsubscribed"


def test_a_poison_record_ends_in_the_dlq_and_blocks_no_one(twin: Twin) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=twin.config["moto_endpoint"],
        region_name=twin.config["region"],
        aws_access_key_id="twin",
        aws_secret_access_key="twin",
    )
    dlq = twin.config["queues"]["NotificationsDLQ"]
    to = _address("ruth.evans")
    poison = outbox.item(
        message("registration_confirmed", to=to, dedupe_key=f"TWIN#{uuid.uuid4().hex}")
    )
    poison["kind"] = "no_such_kind"
    _write(twin, poison)
    good = _queue(twin, "registration_cancelled", to)

    twin.drain(timeout=60)

    assert [m["subject"] for m in twin.mail(to=to)] == ["Registration cancelled: Community Space"]
    assert _outbox_item(twin, good)["status"] == "sent"
    stored = _outbox_item(twin, poison["pk"])
    assert stored["status"] == "pending" and "unknown kind" in stored["last_error"]
    deadline = time.monotonic() + 30
    records: list[dict[str, Any]] = []
    while not records and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        records = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    assert records and "DDBStreamBatchInfo" in records[0]
