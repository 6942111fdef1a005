"""Organisers and the workshop's registrants: the list, capacity, time, cancelling, messages."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from convene.errors import Conflict

from tests.unit.registrations.conftest import (
    MEMBER,
    NOW,
    ORGANISER,
    Http,
    Publish,
    event_item,
    guest_confirms,
    guest_registers,
    mail,
    registration_of,
    thursday_weeks_ahead,
)


def _full_house(event_id: str, now: datetime = NOW) -> None:
    """Priya and Tom have the seats; Ana, then Lee, wait (a minute apart)."""
    for n, name in enumerate(["Priya", "Tom", "Ana", "Lee"]):
        guest_confirms(
            event_id, name, f"{name.lower()}@example.org", now=now + timedelta(minutes=n)
        )


def _patch(event_id: str, now: datetime = NOW, **changes: object) -> object:
    from convene.events import service as events
    from convene.events.models import EventPatch
    from convene.registrations import organisers

    updated = events.update_event(
        event_id, EventPatch.model_validate(changes), organiser=ORGANISER["sub"], now=now
    )
    organisers.after_event_update(event_id, now=now)
    return updated


def test_the_attendee_list_has_states_and_answers(july: str) -> None:
    from convene.registrations import organisers

    _full_house(july)
    guest_registers(july, "Sam", "sam@example.org", now=NOW + timedelta(minutes=5))  # unconfirmed

    listing = organisers.attendees(july)

    assert [(a.name, a.status) for a in listing.items] == [
        ("Priya", "confirmed"),
        ("Tom", "confirmed"),
        ("Ana", "waitlisted"),
        ("Lee", "waitlisted"),
        ("Sam", "pending_confirmation"),
    ]
    assert [a.waitlist_position for a in listing.items if a.status == "waitlisted"] == [1, 2]
    assert listing.items[0].answers == {"heard": "Newsletter", "topic": "Running a tool library"}
    assert listing.items[0].email == "priya@example.org"
    assert listing.counts == {"confirmed": 2, "waitlisted": 2, "pending_confirmation": 1}


def test_the_csv_is_safe_to_open_in_a_spreadsheet(july: str) -> None:
    from convene.registrations import organisers, service

    from tests.unit.registrations.conftest import confirm_token, form

    service.register(
        july,
        form(
            '=HYPERLINK("http://evil.example","click")',
            "eve@example.org",
            answers={"heard": "A friend", "topic": "+SUM(1,2)\n@cmd"},
        ),
        caller=None,
        now=NOW,
    )
    service.confirm(confirm_token("eve@example.org"), now=NOW)

    text = organisers.attendees_csv(organisers.attendees(july))
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0][:3] == ["registration_id", "status", "name"]
    assert rows[0][-2:] == [
        "What would you like to talk about?",
        "How did you hear about Community Space?",
    ]
    assert rows[1][2] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[1][-2] == "'+SUM(1,2)\n@cmd"
    assert rows[1][-1] == "A friend"
    for cell in (c for row in rows for c in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_each_formula_start_gets_a_quote(value: str) -> None:
    from convene.registrations.organisers import safe_cell

    assert safe_cell(value) == "'" + value
    assert safe_cell("Priya") == "Priya"


def test_the_attendee_list_over_http_as_json_and_csv(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    path = f"/admin/events/{event_id}/registrations"
    resource = "/admin/events/{eventId}/registrations"

    as_json = http.admin("GET", path, resource, event_id)
    as_csv = http.admin("GET", path, resource, event_id, headers={"Accept": "text/csv"})
    as_member = http.admin("GET", path, resource, event_id, claims=MEMBER)

    assert as_json.status == 200, as_json.text
    assert as_json.json["items"] == []
    assert as_csv.status == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith("registration_id,status,name,email")
    assert as_member.status == 403


def test_raising_the_capacity_makes_offers_to_the_waiting_list(july: str) -> None:
    _full_house(july)

    _patch(july, capacity=3)

    assert registration_of(july, "ana@example.org")["state"] == "offered"
    assert registration_of(july, "lee@example.org")["state"] == "waitlisted"
    assert mail("ana@example.org", "waitlist_offer")
    event = event_item(july)
    assert (event["seats_taken"], event["waiting"]) == (3, 1)


def test_lowering_the_capacity_below_the_seats_taken_is_refused(july: str) -> None:
    _full_house(july)

    with pytest.raises(Conflict) as refused:
        _patch(july, capacity=1)

    assert refused.value.code == "capacity_below_seats_taken"
    assert event_item(july)["capacity"] == 2


def test_changing_the_time_sends_a_notice_with_the_next_sequence(july: str) -> None:
    _full_house(july)
    before = event_item(july)["sequence"]

    _patch(
        july,
        starts_at="2021-07-22T14:00:00+01:00",
        ends_at="2021-07-22T15:30:00+01:00",
    )

    notices = mail(kind="event_changed")
    assert sorted(m["to"] for m in notices) == [
        "ana@example.org",
        "lee@example.org",
        "priya@example.org",
        "tom@example.org",
    ]
    for notice in notices:
        assert notice["ics"]["sequence"] == before + 1
        assert notice["ics"]["starts_at"] == "2021-07-22T13:00:00Z"
    confirmed = next(m for m in notices if m["to"] == "priya@example.org")
    waiting = next(m for m in notices if m["to"] == "ana@example.org")
    assert "joining_url" in confirmed["data"]
    assert "joining_url" not in waiting["data"]


def test_editing_the_title_sends_no_notice_and_the_scheduled_run_adds_none(july: str) -> None:
    from convene.registrations import reminders

    _full_house(july)
    _patch(july, title="Community Space: tool libraries")
    reminders.run(NOW + timedelta(minutes=5))

    assert mail(kind="event_changed") == []


def test_cancelling_the_workshop_emails_every_registrant(july: str) -> None:
    from convene.registrations import organisers

    _full_house(july)
    guest_registers(july, "Sam", "sam@example.org")  # never confirmed: not emailed

    result = organisers.cancel_event(july, reason="The speaker is ill.", now=NOW)

    assert result.done and result.sent == 4
    cancelled = mail(kind="event_cancelled")
    assert sorted(m["to"] for m in cancelled) == [
        "ana@example.org",
        "lee@example.org",
        "priya@example.org",
        "tom@example.org",
    ]
    assert cancelled[0]["ics"]["method"] == "CANCEL"
    assert cancelled[0]["data"]["reason"] == "The speaker is ill."
    event = event_item(july)
    assert event["status"] == "cancelled"
    assert "gsi1pk" not in event
    assert (event["seats_taken"], event["waiting"]) == (0, 0)
    assert registration_of(july, "priya@example.org")["state"] == "cancelled"


def test_a_large_cancellation_is_finished_by_the_scheduled_run(
    publish: Publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene.registrations import notices, organisers, reminders

    event_id = publish(capacity=6)
    for n in range(6):
        guest_confirms(event_id, f"Guest {n}", f"guest{n}@example.org")
    monkeypatch.setattr(notices, "REQUEST_BUDGET", 4)

    first = organisers.cancel_event(event_id, reason=None, now=NOW)
    reminders.run(NOW + timedelta(minutes=5))

    assert (first.sent, first.done) == (4, False)
    assert len(mail(kind="event_cancelled")) == 6


def test_cancelling_over_http(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    path, resource = f"/admin/events/{event_id}/cancel", "/admin/events/{eventId}/cancel"

    first = http.admin("POST", path, resource, event_id, body={"reason": "Venue closed"})
    again = http.admin("POST", path, resource, event_id, body={})

    assert first.status == 200, first.text
    assert first.json["kind"] == "event_cancelled"
    assert again.status == 410


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ("confirmed", ["priya@example.org", "tom@example.org"]),
        ("waiting", ["ana@example.org", "lee@example.org"]),
        ("all", ["ana@example.org", "lee@example.org", "priya@example.org", "tom@example.org"]),
    ],
)
def test_a_message_reaches_the_chosen_registrants(
    july: str, audience: str, expected: list[str]
) -> None:
    from convene.registrations import organisers
    from convene.registrations.models import MessageIn

    _full_house(july)

    organisers.message(
        july,
        MessageIn.model_validate(
            {"audience": audience, "subject": "Bring a mug", "body": "We will share recipes."}
        ),
        now=NOW,
    )

    sent = mail(kind="organiser_message")
    assert sorted(m["to"] for m in sent) == expected
    assert sent[0]["data"]["subject"] == "Bring a mug"


def test_a_retried_message_with_the_same_key_goes_once(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    guest_confirms(event_id, "Priya", "priya@example.org", now=datetime.now(NOW.tzinfo))
    path, resource = f"/admin/events/{event_id}/messages", "/admin/events/{eventId}/messages"
    body = {"audience": "all", "subject": "Parking", "body": "Use the side entrance."}

    first = http.admin(
        "POST", path, resource, event_id, body=body, headers={"Idempotency-Key": "m1"}
    )
    again = http.admin(
        "POST", path, resource, event_id, body=body, headers={"Idempotency-Key": "m1"}
    )

    assert first.status == again.status == 202, first.text
    assert first.json == again.json
    assert len(mail("priya@example.org", "organiser_message")) == 1


def test_moving_the_workshop_over_http_tells_its_registrants_and_moves_their_data(
    http: Http, publish: Publish
) -> None:
    from datetime import UTC

    day = thursday_weeks_ahead(2)
    event_id = publish(day)
    clock = datetime.now(UTC)
    guest_confirms(event_id, "Priya", "priya@example.org", now=clock)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=13)
    end = start + timedelta(minutes=90)

    answer = http.admin(
        "PATCH",
        f"/admin/events/{event_id}",
        "/admin/events/{eventId}",
        event_id,
        body={"starts_at": start.isoformat(), "ends_at": end.isoformat()},
    )

    assert answer.status == 200, answer.text
    [notice] = mail("priya@example.org", "event_changed")
    assert notice["ics"]["sequence"] == answer.json["sequence"]
    ttl = int((end + timedelta(days=90)).timestamp())
    assert registration_of(event_id, "priya@example.org")["expires_at"] == ttl
    assert event_item(event_id)["personal_until"] == ttl
