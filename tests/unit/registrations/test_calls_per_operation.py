"""Every request costs a bounded, small number of DynamoDB calls: counted with a botocore
`before-call` hook on convene's own clients (docs/registrations.md, "Calls per
operation", says why each call is there)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from tests.unit.registrations.conftest import (
    NOW,
    confirm_token,
    form,
    guest_confirms,
    guest_registers,
    mail,
    manage_token,
    member,
    registration_of,
)


@contextlib.contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The operations convene's DynamoDB clients send inside the block, in order."""
    from convene import aws as convene_aws

    calls: list[str] = []

    def count(model: Any = None, **_: Any) -> None:
        calls.append(model.name)

    clients = [convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client]
    for client in clients:
        client.meta.events.register("before-call.dynamodb", count, unique_id="count-calls")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", unique_id="count-calls")


def test_a_guest_registers_with_one_read_and_one_transaction(july: str) -> None:
    with dynamodb_calls() as calls:
        guest_registers(july, "Priya", "priya@example.org")

    assert calls == ["GetItem", "TransactWriteItems"]


def test_a_repeat_registration_costs_a_read_more_and_its_email(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")

    with dynamodb_calls() as calls:
        guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(minutes=20))

    # The refused transaction hands back the person item; the registration is read; the
    # email goes again (at most once per 10 minutes).
    assert calls == ["GetItem", "TransactWriteItems", "GetItem", "TransactWriteItems"]


def test_confirming_costs_four_calls_when_nobody_else_is_being_placed(july: str) -> None:
    from convene.registrations import service

    guest_registers(july, "Priya", "priya@example.org")
    token = confirm_token("priya@example.org")

    with dynamodb_calls() as calls:
        result = service.confirm(token, now=NOW)

    assert result.status == "confirmed"
    assert calls == ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"]


def test_joining_the_waiting_list_costs_the_same(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    guest_confirms(july, "Tom", "tom@example.org")
    guest_registers(july, "Ana", "ana@example.org")
    token = confirm_token("ana@example.org")

    with dynamodb_calls() as calls:
        result = service.confirm(token, now=NOW)

    assert (result.status, result.waitlist_position) == ("waitlisted", 1)
    assert calls == ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"]


def test_a_second_click_only_reads(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")

    with dynamodb_calls() as calls:
        service.confirm(confirm_token("priya@example.org"), now=NOW)

    assert calls == ["GetItem", "BatchGetItem"]


def test_a_signed_in_member_registers_with_three_calls(july: str) -> None:
    from convene.registrations import service

    sam = member("8d7e6f5a-member-sam", "sam.member@example.net", "Sam Okafor")

    with dynamodb_calls() as calls:
        outcome = service.register(
            july, form("Sam Okafor", "ignored@example.org"), caller=sam, now=NOW
        )

    assert outcome.status_code == 201
    assert calls == ["GetItem", "Query", "TransactWriteItems"]


def test_a_cancel_that_offers_the_seat_costs_five_calls(july: str) -> None:
    from convene.registrations import service

    for name in ["Priya", "Tom", "Ana"]:
        guest_confirms(july, name, f"{name.lower()}@example.org")
    priya = registration_of(july, "priya@example.org")

    with dynamodb_calls() as calls:
        service.cancel(priya["id"], manage_token("priya@example.org"), now=NOW)

    assert registration_of(july, "ana@example.org")["state"] == "offered"
    # Token; registration and event; the head of the waiting list (index, then the
    # item itself, strongly consistent); one transaction.
    assert calls == ["GetItem", "BatchGetItem", "Query", "GetItem", "TransactWriteItems"]


def test_the_manage_view_reads_twice(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    priya = registration_of(july, "priya@example.org")

    with dynamodb_calls() as calls:
        service.manage_view(priya["id"], manage_token("priya@example.org"), now=NOW)

    assert calls == ["GetItem", "BatchGetItem"]


def test_cancelling_an_event_reads_each_state_once_when_it_fits_one_page(july: str) -> None:
    from convene.registrations import organisers

    for name in ["Priya", "Tom", "Ana"]:  # two seats: Ana waits
        guest_confirms(july, name, f"{name.lower()}@example.org")

    with dynamodb_calls() as calls:
        result = organisers.cancel_event(july, reason=None, now=NOW)

    assert (result.sent, result.done) == (3, True)
    assert len(mail(kind="event_cancelled")) == 3
    # The event; the cancellation and the notice together; the event again, strongly
    # consistent, for the calendar's new SEQUENCE; then one page per active state
    # (confirmed, offered, waitlisted), one transaction per registrant, and the progress.
    assert calls == [
        "GetItem",
        "TransactWriteItems",
        "GetItem",
        "Query",
        "TransactWriteItems",
        "TransactWriteItems",
        "Query",
        "Query",
        "TransactWriteItems",
        "UpdateItem",
    ]
