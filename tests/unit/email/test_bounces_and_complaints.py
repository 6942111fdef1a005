"""SES feedback through SNS: a permanent bounce or a complaint suppresses the address, a
transient bounce does not, and a suppressed address gets nothing (the outbox says why)."""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from convene.email import suppression

from tests.helpers import EVENTS, LambdaContext
from tests.unit.email.conftest import Mailbox, invoke, queue, stored_item, stream_record
from tests.unit.email.samples import GUEST, message

TOPIC = "arn:aws:sns:eu-west-2:123456789012:convene-local-EmailFeedbackTopic"


def ses_event(event_type: str, **detail: Any) -> dict[str, Any]:
    """An SES event-publishing record (configuration set -> SNS), as SES documents it."""
    body: dict[str, Any] = {
        "eventType": event_type,
        "mail": {
            "timestamp": "2021-07-20T09:00:02.012Z",
            "source": "Community Space <events@community.example.org>",
            "sendingAccountId": "123456789012",
            "messageId": "0102017ac1e2-example-000000",
            "destination": [GUEST],
            "tags": {"kind": ["registration_confirmed"]},
        },
    }
    body.update(detail)
    return body


def bounce(bounce_type: str, sub_type: str = "General", address: str = GUEST) -> dict[str, Any]:
    return ses_event(
        "Bounce",
        bounce={
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2021-07-20T09:01:02.669Z",
            "feedbackId": "0102017ac1e3-example-000000",
        },
    )


def complaint(address: str = GUEST) -> dict[str, Any]:
    return ses_event(
        "Complaint",
        complaint={
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2021-07-20T10:00:00.000Z",
            "feedbackId": "0102017ac1e4-example-000000",
            "complaintFeedbackType": "abuse",
        },
    )


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    """SNS -> Lambda, in the shape of events/sns-notification.json."""
    sample = json.loads((EVENTS / "sns-notification.json").read_text())["Records"][0]
    records = []
    for body in messages:
        record = copy.deepcopy(sample)
        record["EventSubscriptionArn"] = f"{TOPIC}:0b4e6f7a-sub"
        record["Sns"]["TopicArn"] = TOPIC
        record["Sns"]["Subject"] = None
        record["Sns"]["Message"] = body if isinstance(body, str) else json.dumps(body)
        record["Sns"]["MessageAttributes"] = {}
        records.append(record)
    return {"Records": records}


def feed(handler: ModuleType, *messages: dict[str, Any] | str) -> dict[str, Any]:
    return handler.lambda_handler(sns_event(*messages), LambdaContext())


def test_a_permanent_bounce_suppresses_the_address(
    email_feedback: ModuleType, mail: Mailbox
) -> None:
    assert feed(email_feedback, bounce("Permanent")) == {"suppressed": 1}

    assert suppression.status(GUEST).suppressed == "bounce"
    # The same person, however the address is written.
    assert suppression.status("AMARA.OKAFOR@example.net ").suppressed == "bounce"


def test_a_transient_bounce_does_not_suppress(email_feedback: ModuleType, mail: Mailbox) -> None:
    assert feed(email_feedback, bounce("Transient", "MailboxFull")) == {"suppressed": 0}

    assert suppression.status(GUEST).suppressed is None


def test_a_complaint_suppresses_the_address(email_feedback: ModuleType, mail: Mailbox) -> None:
    assert feed(email_feedback, complaint()) == {"suppressed": 1}

    assert suppression.status(GUEST).suppressed == "complaint"


def test_identity_notifications_with_notification_type_are_read_too(
    email_feedback: ModuleType, mail: Mailbox
) -> None:
    legacy = bounce("Permanent")
    legacy["notificationType"] = legacy.pop("eventType")

    assert feed(email_feedback, legacy) == {"suppressed": 1}


def test_other_and_unreadable_feedback_is_ignored(
    email_feedback: ModuleType, mail: Mailbox
) -> None:
    delivery = ses_event("Delivery", delivery={"recipients": [GUEST]})

    assert feed(email_feedback, delivery, "not json", "[1, 2]") == {"suppressed": 0}
    assert suppression.status(GUEST).suppressed is None


def test_a_suppressed_address_gets_nothing_and_the_outbox_item_says_why(
    notifications: ModuleType, email_feedback: ModuleType, mail: Mailbox
) -> None:
    feed(email_feedback, bounce("Permanent"))
    items = queue(
        message("registration_confirmed"),
        message(
            "registration_waitlisted",
            to="jonah.reid@example.net",
            dedupe_key="REG#reg_2#waitlisted",
        ),
    )

    assert invoke(notifications, [stream_record(i) for i in items]) == []

    assert [str(m["To"]) for m in mail.sent()] == ["jonah.reid@example.net"]
    stored = stored_item(items[0]["pk"])
    assert stored["status"] == "suppressed"
    assert stored["reason"] == "bounce"
    assert stored_item(items[1]["pk"])["status"] == "sent"


def test_a_complaint_stops_even_mail_people_cannot_opt_out_of(
    notifications: ModuleType, email_feedback: ModuleType, mail: Mailbox
) -> None:
    feed(email_feedback, complaint())
    (item,) = queue(message("event_cancelled"))

    invoke(notifications, [stream_record(item)])

    assert mail.sent() == []
    assert stored_item(item["pk"])["reason"] == "complaint"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_feedback_that_cannot_be_stored_fails_the_invocation_so_lambda_retries_it(
    email_feedback: ModuleType, mail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def table_unavailable(*_: Any, **__: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "PutItem",
        )

    monkeypatch.setattr(suppression, "suppress", table_unavailable)

    # Raised, not swallowed: SNS's asynchronous invocation is retried twice, then it goes
    # to NotificationsDLQ (template.yaml: EventInvokeConfig), and the bounce is not lost.
    with pytest.raises(ClientError):
        feed(email_feedback, bounce("Permanent"))
