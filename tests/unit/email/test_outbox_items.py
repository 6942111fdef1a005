"""What a service gets from convene.email.outbox: a transaction entry, once per dedupe key,
and an error at write time (not a poison record later) when the message is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from convene.db import TransactionCancelled, transact_write
from convene.email import outbox
from convene.email.outbox import KINDS, OutboxMessage
from pydantic import ValidationError

from tests.unit.email.conftest import Mailbox, stored_item
from tests.unit.email.samples import DATA, GUEST, message

NOW = datetime(2021, 7, 20, 9, 0, tzinfo=UTC)


def test_put_is_a_conditional_transaction_entry_for_the_outbox_table() -> None:
    entry = outbox.put(message("registration_confirmed"), now=NOW)

    put = entry["Put"]
    assert put["TableName"] == "convene-local-OutboxTable"
    assert put["ConditionExpression"] == "attribute_not_exists(pk)"
    assert put["Item"]["pk"] == {"S": "MSG#REG#reg_7f3a9c#registration_confirmed"}
    assert put["Item"]["status"] == {"S": "pending"}
    assert put["Item"]["created_at"] == {"S": "2021-07-20T09:00:00Z"}
    assert put["Item"]["expires_at"] == {"N": str(int((NOW + timedelta(days=30)).timestamp()))}


def test_the_same_email_is_queued_once_per_dedupe_key(mail: Mailbox) -> None:
    transact_write([outbox.put(message("registration_confirmed"))])

    with pytest.raises(TransactionCancelled) as cancelled:
        transact_write([outbox.put(message("registration_confirmed"))])

    assert cancelled.value.failed(0)
    assert stored_item("MSG#REG#reg_7f3a9c#registration_confirmed")["status"] == "pending"


def test_send_now_queues_once_without_a_transaction(mail: Mailbox) -> None:
    interest = message("interest_received", dedupe_key="INTEREST#int_41d2")

    assert outbox.send_now(interest) is True
    assert outbox.send_now(interest) is False


def test_every_kind_has_a_sample_and_the_samples_are_valid() -> None:
    assert set(DATA) == set(KINDS)
    for kind in KINDS:
        assert message(kind).kind == kind


def test_a_kind_without_its_data_is_refused_when_written() -> None:
    data = {k: v for k, v in DATA["registration_confirmed"].items() if k != "joining_url"}

    with pytest.raises(ValidationError, match="needs data joining_url"):
        OutboxMessage(
            kind="registration_confirmed",
            to=GUEST,
            data=data,
            ics=message("registration_confirmed").ics,
            dedupe_key="REG#reg_7f3a9c#confirmed",
        )


def test_an_unknown_kind_or_unexpected_data_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown kind"):
        OutboxMessage(kind="newsletter", to=GUEST, data={}, dedupe_key="NEWS#1")
    with pytest.raises(ValidationError, match="takes no data joinig_url"):
        message("event_reminder", joinig_url="https://meet.example.org/x")


def test_kinds_about_a_place_require_their_calendar_file() -> None:
    with pytest.raises(ValidationError, match="ics is required"):
        OutboxMessage(
            kind="event_reminder",
            to=GUEST,
            data=DATA["event_reminder"],
            dedupe_key="REM#reg_7f3a9c#1440",
        )
    with pytest.raises(ValidationError, match="method CANCEL"):
        OutboxMessage(
            kind="event_cancelled",
            to=GUEST,
            data=DATA["event_cancelled"],
            ics=message("event_reminder").ics,
            dedupe_key="CANCEL#evt_cs2021jul#reg_7f3a9c",
        )


def test_opt_out_kinds_get_their_list_kind_from_the_kind() -> None:
    assert message("event_reminder").list_kind == "reminders"
    assert message("comment_reply").list_kind == "replies"
    assert message("moderation_digest").list_kind == "digest"
    assert message("registration_confirmed").list_kind is None


def test_times_are_stored_in_utc_and_floats_are_refused() -> None:
    offer = message(
        "waitlist_offer",
        offer_expires_at=datetime(2021, 7, 21, 12, 0, tzinfo=UTC) + timedelta(hours=-1),
    )
    assert offer.data["offer_expires_at"] == "2021-07-21T11:00:00Z"

    with pytest.raises(ValidationError, match="not float"):
        message("registration_waitlisted", position=2.0)


def test_links_must_be_web_links() -> None:
    with pytest.raises(ValidationError, match="confirm_url must be an http"):
        message("registration_confirm_request", confirm_url="javascript:alert(1)")


def test_a_dedupe_key_cannot_carry_an_address() -> None:
    with pytest.raises(ValidationError, match="no addresses"):
        message("registration_confirmed", dedupe_key=f"REG#{GUEST}")


def test_validation_errors_never_repeat_the_address() -> None:
    with pytest.raises(ValidationError) as bad_address:
        message("registration_confirmed", to="amara.okafor@@example.net")
    with pytest.raises(ValidationError) as bad_data:
        message("registration_confirmed", to=GUEST, joining_url=None, manage_url=3.5)

    assert "amara.okafor" not in str(bad_address.value)
    assert GUEST not in str(bad_data.value)


def test_roles_are_recipients_resolved_by_notifications() -> None:
    digest = message("moderation_digest")
    assert digest.to == outbox.MODERATORS
    assert outbox.item(digest)["to"] == "role:moderators"
