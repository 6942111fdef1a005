"""A guest confirms by the link in their email: a seat if one is free, else the waiting list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from convene.errors import Gone, NotFound

from tests.unit.registrations.conftest import (
    JOINING_URL,
    NOW,
    Http,
    Publish,
    confirm_token,
    event_item,
    guest_confirms,
    guest_registers,
    mail,
    registration_of,
    thursday_weeks_ahead,
)


def _confirm(token: str, now=NOW):
    from convene.registrations import service

    return service.confirm(token, now=now)


def test_confirming_takes_a_free_seat(july: str) -> None:
    result = guest_confirms(july, "Priya Shah", "priya@example.org")

    assert result.status == "confirmed"
    assert result.registration_id.startswith("reg_")
    assert registration_of(july, "priya@example.org")["state"] == "confirmed"
    assert event_item(july)["seats_taken"] == 1


def test_the_confirmed_email_has_the_joining_link_a_calendar_file_and_a_manage_link(
    july: str,
) -> None:
    guest_confirms(july, "Priya Shah", "priya@example.org")

    [email] = mail("priya@example.org", "registration_confirmed")
    assert email["data"]["joining_url"] == JOINING_URL
    assert email["data"]["manage_url"].startswith(
        "https://community.example.org/registration.html?id=reg_"
    )
    assert "token=" in email["data"]["manage_url"]
    ics = email["ics"]
    assert ics["method"] == "REQUEST"
    assert ics["starts_at"] == "2021-07-22T10:00:00Z"
    assert ics["url"] == JOINING_URL
    assert ics["uid"].startswith(f"convene-{july}-reg_")


def test_when_the_seats_are_gone_a_guest_joins_the_waiting_list_with_a_position(
    july: str,
) -> None:
    guest_confirms(july, "Priya", "priya@example.org")
    guest_confirms(july, "Tom", "tom@example.org")

    third = guest_confirms(july, "Ana", "ana@example.org")
    fourth = guest_confirms(july, "Lee", "lee@example.org")

    assert (third.status, third.waitlist_position) == ("waitlisted", 1)
    assert (fourth.status, fourth.waitlist_position) == ("waitlisted", 2)
    assert event_item(july)["seats_taken"] == 2
    assert event_item(july)["waiting"] == 2
    [email] = mail("ana@example.org", "registration_waitlisted")
    assert email["data"]["position"] == 1
    assert "joining_url" not in email["data"]


def test_a_second_click_is_harmless(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")
    token = confirm_token("priya@example.org")

    first = _confirm(token)
    again = _confirm(token, now=NOW + timedelta(minutes=5))

    assert first.status == again.status == "confirmed"
    assert event_item(july)["seats_taken"] == 1
    assert len(mail("priya@example.org", "registration_confirmed")) == 1


def test_an_expired_link_is_gone_and_never_held_a_seat(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")

    with pytest.raises(Gone) as expired:
        _confirm(confirm_token("priya@example.org"), now=NOW + timedelta(hours=49))

    assert expired.value.code == "link_expired"
    assert event_item(july)["seats_taken"] == 0


def test_an_unconfirmed_registration_can_be_made_again_after_it_expires(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")
    later = NOW + timedelta(hours=49)

    guest_registers(july, "Priya", "priya@example.org", now=later)
    result = _confirm(confirm_token("priya@example.org"), now=later)

    assert result.status == "confirmed"


def test_an_unknown_link_is_not_found(july: str) -> None:
    with pytest.raises(NotFound):
        _confirm("x" * 43)
    with pytest.raises(NotFound):
        _confirm("not a token")


def test_confirming_after_registration_closed_is_gone(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org", now=NOW + timedelta(days=6))

    with pytest.raises(Gone) as closed:
        _confirm(confirm_token("priya@example.org"), now=NOW + timedelta(days=7, hours=2))

    assert closed.value.code in {"registration_closed", "link_expired"}


def test_get_confirm_answers_303_to_the_events_page(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    http.register(
        event_id,
        body={
            "name": "Priya",
            "email": "priya@example.org",
            "consent": True,
            "answers": {"heard": "A friend"},
        },
    )

    answer = http.confirm(confirm_token("priya@example.org"), method="GET")

    assert answer.status == 303
    assert answer.headers["location"] == (
        f"https://community.example.org/workshops/{event_id}/?registration=confirmed"
        "#registration-confirmed"
    )


def test_post_confirm_answers_json_and_unknown_or_expired_links_say_so(
    http: Http, publish: Publish
) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    http.register(
        event_id,
        body={
            "name": "P",
            "email": "p@example.org",
            "consent": True,
            "answers": {"heard": "A friend"},
        },
    )

    answer = http.confirm(confirm_token("p@example.org"))
    unknown = http.confirm("y" * 43)

    assert answer.status == 200
    assert answer.json["status"] == "confirmed"
    assert "p@example.org" not in answer.text
    assert unknown.status == 404
    assert unknown.json["error"]["code"] == "unknown_token"


def test_a_form_post_with_the_token_confirms_and_answers_303(http: Http, publish: Publish) -> None:
    from tests.helpers import api_event, invoke

    event_id = publish(thursday_weeks_ahead(2))
    http.register(
        event_id,
        body={
            "name": "P",
            "email": "p@example.org",
            "consent": True,
            "answers": {"heard": "A friend"},
        },
    )
    event = api_event(
        "POST", "/registrations/confirm", form={"token": confirm_token("p@example.org")}
    )

    answer = invoke(http.fns["registrations"], event)

    assert answer.status == 303, answer.text
    assert answer.headers["location"].endswith(
        f"/workshops/{event_id}/?registration=confirmed#registration-confirmed"
    )
