"""Faults and bad input on the way to SES: throttling, outages, poison records and
redelivered batches. Every message goes exactly once, and none is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from convene import aws as convene_aws
from convene.db import to_item
from convene.email import outbox, service
from convene.email.config import get_email_settings
from convene.email.outbox import KindSpec
from convene.settings import get_settings

from tests.unit.email.conftest import (
    Mailbox,
    SesFaults,
    invoke,
    poll,
    queue,
    ses_error,
    stored_item,
    stream_record,
)
from tests.unit.email.samples import DATA, GUEST, message

PEOPLE = [
    "amara.okafor@example.net",
    "jonah.reid@example.net",
    "mei.lin@example.net",
    "ruth.evans@example.net",
    "sam.patel@example.net",
    "ola.nowak@example.net",
]


def confirmations(count: int = len(PEOPLE)) -> list[dict]:
    return queue(
        *(
            message("registration_confirmed", to=PEOPLE[i], dedupe_key=f"REG#reg_{i:04d}#confirmed")
            for i in range(count)
        )
    )


def sent_to(mail: Mailbox) -> Counter[str]:
    return Counter(str(m["To"]) for m in mail.sent())


def test_ses_throttling_for_a_while_sends_every_message_exactly_once(
    notifications: ModuleType, mail: Mailbox, ses_faults: SesFaults
) -> None:
    records = [stream_record(i) for i in confirmations()]
    # The first two sends go through, then SES throttles four calls in a row.
    ses_faults.fail_calls = {3, 4, 5, 6}

    run = poll(notifications, records)

    assert sent_to(mail) == Counter(PEOPLE)
    assert run.dead_letters == []
    # The first invocation reported exactly the records that failed, not those that went.
    sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert run.failures[0] == sequence[2:]
    for item in records:
        stored = stored_item(item["dynamodb"]["Keys"]["pk"]["S"])
        assert stored["status"] == "sent"


def test_failed_records_are_reported_and_succeeded_ones_are_not_sent_again(
    notifications: ModuleType, mail: Mailbox, ses_faults: SesFaults
) -> None:
    records = [stream_record(i) for i in confirmations(3)]
    ses_faults.fail_next = 1  # the first send fails, the next two go

    failed = invoke(notifications, records)

    assert failed == [records[0]["dynamodb"]["SequenceNumber"]]
    assert sorted(sent_to(mail)) == sorted(PEOPLE[1:3])
    # Lambda retries from the failed record on, the two that went included.
    assert invoke(notifications, records) == []
    assert sent_to(mail) == Counter(PEOPLE[:3])
    assert stored_item(records[0]["dynamodb"]["Keys"]["pk"]["S"])["attempts"] == 2


def test_an_ses_outage_longer_than_the_retries_leaves_the_items_pending_for_redrive(
    notifications: ModuleType, mail: Mailbox, ses_faults: SesFaults
) -> None:
    records = [stream_record(i) for i in confirmations(2)]
    ses_faults.fail_next = 1000
    ses_faults.error = lambda: ses_error("SendingPausedException")

    run = poll(notifications, records)

    assert mail.sent() == []
    assert len(run.dead_letters) == 2
    for record in records:
        stored = stored_item(record["dynamodb"]["Keys"]["pk"]["S"])
        assert stored["status"] == "pending"
        assert stored["last_error"] == "SES: SendingPausedException"

    # Redriving the DLQ (the same records) once SES is back sends each exactly once.
    ses_faults.fail_next = 0
    assert invoke(notifications, run.dead_letters) == []
    assert invoke(notifications, run.dead_letters) == []
    assert sent_to(mail) == Counter(PEOPLE[:2])


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: ses_error("TooManyRequestsException", status=429), id="throttled"),
        pytest.param(lambda: ses_error("LimitExceededException"), id="daily-quota"),
        pytest.param(lambda: ses_error("SendingPausedException"), id="sending-paused"),
        pytest.param(lambda: ses_error("InternalFailure", status=500), id="internal-failure"),
        # A bare 503 from in front of SES has no error type: botocore names it "503".
        pytest.param(lambda: ses_error("503", "Service Unavailable", status=503), id="bare-503"),
        pytest.param(
            lambda: EndpointConnectionError(endpoint_url="https://email.eu-west-2.amazonaws.com"),
            id="unreachable",
        ),
    ],
)
def test_every_kind_of_ses_outage_is_deferred_and_sent_once_after_recovery(
    notifications: ModuleType,
    mail: Mailbox,
    ses_faults: SesFaults,
    failure: Callable[[], ClientError | BotoCoreError],
) -> None:
    (item,) = confirmations(1)
    ses_faults.fail_next = 1
    ses_faults.error = failure

    with pytest.raises(service.DeliveryDeferred):
        service.deliver(item["pk"])

    stored = stored_item(item["pk"])
    assert stored["status"] == "pending"  # the claim is released
    assert stored["last_error"].startswith(("SES: ", "SES unreachable: "))
    assert "claim" not in stored and "lease_until" not in stored
    assert invoke(notifications, [stream_record(item)]) == []
    assert invoke(notifications, [stream_record(item)]) == []
    assert sent_to(mail) == Counter(PEOPLE[:1])


def test_a_redelivered_batch_sends_nothing_twice(notifications: ModuleType, mail: Mailbox) -> None:
    records = [stream_record(i) for i in confirmations(4)]

    assert invoke(notifications, records) == []
    assert invoke(notifications, records) == []
    assert invoke(notifications, list(reversed(records))) == []

    assert sent_to(mail) == Counter(PEOPLE[:4])


def _raw_outbox_item(pk: str, **fields: object) -> dict:
    now = datetime.now(UTC)
    stored = {
        "pk": pk,
        "kind": "registration_confirmed",
        "to": GUEST,
        "data": DATA["registration_confirmed"],
        "dedupe_key": pk.removeprefix("MSG#"),
        "status": "pending",
        "attempts": 0,
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": int((now + timedelta(days=30)).timestamp()),
        **fields,
    }
    convene_aws.client("dynamodb").put_item(
        TableName=get_settings().outbox_table_name, Item=to_item(stored)
    )
    return stored_item(pk)


def test_a_poison_record_goes_to_the_dlq_after_bounded_retries_and_blocks_no_one(
    notifications: ModuleType, mail: Mailbox
) -> None:
    before = confirmations(2)
    # Written around the outbox API, as a bug might: the calendar file is missing.
    poison = _raw_outbox_item("MSG#REG#reg_bad#confirmed")
    after = queue(
        message("registration_waitlisted", to=PEOPLE[3], dedupe_key="REG#reg_0003#waitlisted")
    )
    records = [stream_record(i) for i in [*before, poison, *after]]

    run = poll(notifications, records)

    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in run.dead_letters] == [poison["pk"]]
    assert sent_to(mail) == Counter([PEOPLE[0], PEOPLE[1], PEOPLE[3]])
    stored = stored_item(poison["pk"])
    assert stored["status"] == "pending"
    assert stored["attempts"] == 6  # the first try and five retries
    assert "ics is required" in stored["last_error"]
    poison_invocations = [
        i for i in run.invocations if records[2]["dynamodb"]["SequenceNumber"] in i
    ]
    assert len(poison_invocations) == 6


def test_a_kind_whose_template_is_missing_is_a_poison_record(
    notifications: ModuleType, mail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(outbox.KINDS, "workshop_survey", KindSpec(("event",)))
    survey = outbox.OutboxMessage(
        kind="workshop_survey",
        to=GUEST,
        data={"event": DATA["offer_lapsed"]["event"]},
        dedupe_key="SURVEY#evt_cs2021jul#reg_7f3a9c",
    )
    records = [stream_record(i) for i in [*queue(survey), *confirmations(1)]]

    run = poll(notifications, records)

    assert len(run.dead_letters) == 1
    assert sent_to(mail) == Counter(PEOPLE[:1])
    assert "no template workshop_survey.txt" in stored_item(survey.pk)["last_error"]


def test_data_that_does_not_fit_the_template_is_a_poison_record(
    notifications: ModuleType, mail: Mailbox
) -> None:
    bad = _raw_outbox_item(
        "MSG#REG#reg_bad#waitlisted",
        kind="registration_waitlisted",
        data={
            "event": {"title": "Community Space"},
            "position": 1,
            "manage_url": "https://x.org/m",
        },
    )

    with pytest.raises(service.PoisonMessage, match=r"data\.event is not valid"):
        service.deliver(bad["pk"])

    assert mail.sent() == []


def test_ses_refusing_a_message_is_a_poison_record_not_a_lost_one(
    notifications: ModuleType, mail: Mailbox, ses_faults: SesFaults
) -> None:
    (item,) = confirmations(1)
    ses_faults.fail_next = 1
    ses_faults.error = lambda: ses_error(
        "MessageRejected", f"Email address is not verified: {PEOPLE[0]}"
    )

    with pytest.raises(service.PoisonMessage) as refused:
        service.deliver(item["pk"])

    assert str(refused.value) == "SES refused the message: MessageRejected"
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    stored = stored_item(item["pk"])
    assert stored["status"] == "pending" and stored["last_error"] == str(refused.value)


def test_an_item_held_by_another_invocation_is_deferred_until_its_lease_ends(
    mail: Mailbox,
) -> None:
    (item,) = confirmations(1)
    now = datetime.now(UTC)
    table = convene_aws.table(get_settings().outbox_table_name)
    table.update_item(
        Key={"pk": item["pk"]},
        UpdateExpression="SET #s = :s, claim = :c, lease_until = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "sending", ":c": "other", ":u": int(now.timestamp()) + 30},
    )

    with pytest.raises(service.DeliveryDeferred):
        service.deliver(item["pk"], now=now)
    assert mail.sent() == []

    # The other invocation died: once its lease has passed, the item is taken over.
    assert service.deliver(item["pk"], now=now + timedelta(seconds=31)).status == "sent"
    assert len(mail.sent()) == 1


def test_a_failure_to_mark_sent_does_not_fail_the_record(
    notifications: ModuleType, mail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    (item,) = confirmations(1)
    # The claim changes hands between send and mark: the mark's condition fails quietly.
    original = service._mark_sent

    def other_claim(pk: str, claim: str, message_id: str, now: datetime) -> None:
        original(pk, "someone-else", message_id, now)

    monkeypatch.setattr(service, "_mark_sent", other_claim)

    assert invoke(notifications, [stream_record(item)]) == []
    assert len(mail.sent()) == 1


def test_a_role_without_a_configured_address_is_a_poison_record(
    mail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODERATORS_ADDRESS", "")
    get_email_settings.cache_clear()
    (digest,) = queue(message("moderation_digest", dedupe_key="DIGEST#2021-07-22T09"))

    with pytest.raises(service.PoisonMessage, match="no address is configured"):
        service.deliver(digest["pk"])

    assert mail.sent() == []
    assert "role:moderators" in stored_item(digest["pk"])["last_error"]
