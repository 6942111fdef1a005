"""A registrant's own page, cancelling, and the offers a freed seat makes to the waiting list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from convene.errors import Gone, NotFound

from tests.unit.registrations.conftest import (
    JOINING_URL,
    NOW,
    Http,
    Publish,
    event_item,
    guest_confirms,
    mail,
    manage_token,
    offer_token,
    registration,
    registration_of,
    thursday_weeks_ahead,
)


def _service():
    from convene.registrations import service

    return service


def _full_house(event_id: str) -> None:
    """Priya and Tom have the two seats; Ana then Lee wait."""
    guest_confirms(event_id, "Priya", "priya@example.org")
    guest_confirms(event_id, "Tom", "tom@example.org")
    guest_confirms(event_id, "Ana", "ana@example.org")
    guest_confirms(event_id, "Lee", "lee@example.org")


def _cancel(email: str, now=NOW):
    reg = registration_of_any(email)
    return _service().cancel(reg["id"], manage_token(email), now=now)


def registration_of_any(email: str) -> dict:
    from tests.unit.registrations.conftest import all_items

    [reg] = [i for i in all_items() if i.get("entity") == "registration" and i["email"] == email]
    return reg


def test_the_manage_view_shows_the_joining_link_once_confirmed_and_never_the_email(
    july: str,
) -> None:
    result = guest_confirms(july, "Priya Shah", "priya@example.org")

    view = _service().manage_view(
        result.registration_id, manage_token("priya@example.org"), now=NOW
    )

    assert view.status == "confirmed"
    assert view.name == "Priya Shah"
    assert view.joining_url == JOINING_URL
    assert view.event.when == "11:00-12:30 BST, Thursday 22 July 2021"
    assert "priya@example.org" not in view.model_dump_json()


def test_the_manage_view_of_someone_waiting_has_no_joining_link(july: str) -> None:
    _full_house(july)
    lee = registration_of(july, "lee@example.org")

    view = _service().manage_view(
        lee["id"], manage_token("lee@example.org", "registration_waitlisted"), now=NOW
    )

    assert view.status == "waitlisted"
    assert view.waitlist_position == 2
    assert view.joining_url is None


def test_a_token_opens_only_its_own_registration(july: str) -> None:
    guest_confirms(july, "Priya", "priya@example.org")
    tom = guest_confirms(july, "Tom", "tom@example.org")

    with pytest.raises(NotFound):
        _service().manage_view(tom.registration_id, manage_token("priya@example.org"), now=NOW)


def test_cancelling_frees_the_seat_and_offers_it_to_the_first_waiting(july: str) -> None:
    _full_house(july)

    result = _cancel("tom@example.org")

    assert result.status == "cancelled"
    assert registration_of(july, "tom@example.org")["state"] == "cancelled"
    ana = registration_of(july, "ana@example.org")
    assert ana["state"] == "offered"
    assert registration_of(july, "lee@example.org")["state"] == "waitlisted"
    assert event_item(july)["seats_taken"] == 2  # the seat passed straight to Ana
    assert event_item(july)["waiting"] == 1
    [offer] = mail("ana@example.org", "waitlist_offer")
    assert offer["data"]["offer_expires_at"] == "2021-07-16T09:00:00Z"  # held for 24 hours
    assert mail("tom@example.org", "registration_cancelled")


def test_cancelling_twice_is_harmless(july: str) -> None:
    _full_house(july)
    _cancel("tom@example.org")
    again = _cancel("tom@example.org", now=NOW + timedelta(minutes=1))

    assert again.status == "cancelled"
    assert len(mail("ana@example.org", "waitlist_offer")) == 1


def test_accepting_the_offer_in_time_confirms(july: str) -> None:
    _full_house(july)
    _cancel("tom@example.org")

    result = _service().confirm(offer_token("ana@example.org"), now=NOW + timedelta(hours=3))

    assert result.status == "confirmed"
    assert registration_of(july, "ana@example.org")["state"] == "confirmed"
    assert event_item(july)["seats_taken"] == 2
    [email] = mail("ana@example.org", "registration_confirmed")
    assert email["data"]["joining_url"] == JOINING_URL


def test_an_offer_accepted_too_late_is_gone(july: str) -> None:
    _full_house(july)
    _cancel("tom@example.org")

    with pytest.raises(Gone):
        _service().confirm(offer_token("ana@example.org"), now=NOW + timedelta(hours=25))


def test_no_offer_outlives_the_close_of_registration(july: str) -> None:
    _full_house(july)
    closes = event_item(july)["registration_closes_at"]  # the start: 22 July, 10:00 UTC
    late = NOW + timedelta(days=6, hours=12)  # 21 July 21:00 UTC: 13 hours before

    _cancel("tom@example.org", now=late)

    ana = registration_of(july, "ana@example.org")
    assert ana["state"] == "offered"
    assert ana["offer_expires_at"] == closes


def test_no_offer_goes_out_once_registration_has_closed(july: str) -> None:
    _full_house(july)
    after_close = NOW + timedelta(days=7, hours=1, minutes=30)

    _cancel("tom@example.org", now=after_close)

    assert registration_of(july, "ana@example.org")["state"] == "waitlisted"
    assert mail("ana@example.org", "waitlist_offer") == []
    assert event_item(july)["seats_taken"] == 1


def test_cancelling_a_place_on_the_waiting_list_moves_the_others_up(july: str) -> None:
    _full_house(july)
    _cancel_waiting("ana@example.org")

    lee = registration_of(july, "lee@example.org")
    view = _service().manage_view(
        lee["id"], manage_token("lee@example.org", "registration_waitlisted"), now=NOW
    )
    assert view.waitlist_position == 1
    assert event_item(july)["waiting"] == 1


def _cancel_waiting(email: str) -> None:
    reg = registration_of_any(email)
    _service().cancel(reg["id"], manage_token(email, "registration_waitlisted"), now=NOW)


def test_the_manage_view_cancel_and_calendar_over_http(http: Http, publish: Publish) -> None:
    event_id = publish(thursday_weeks_ahead(2))
    http.register(
        event_id,
        body={
            "name": "Priya Shah",
            "email": "priya@example.org",
            "consent": True,
            "answers": {"heard": "A friend"},
        },
    )
    from tests.unit.registrations.conftest import confirm_token

    confirmed = http.confirm(confirm_token("priya@example.org")).json
    reg_id, token = confirmed["registration_id"], manage_token("priya@example.org")

    view = http.manage(reg_id, token)
    ics = http.calendar(reg_id, token)
    cancelled = http.cancel(reg_id, token, form={"token": token})

    assert view.status == 200
    assert view.json["joining_url"] == JOINING_URL
    assert view.json["name"] == "Priya Shah"
    assert "priya@example.org" not in view.text
    assert ics.status == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text
    assert JOINING_URL.split("?")[0] in ics.text.replace("\r\n ", "")
    assert "priya@example.org" not in ics.text
    assert cancelled.status == 303
    assert cancelled.headers["location"].endswith(
        f"/workshops/{event_id}/?registration=cancelled#registration-cancelled"
    )
    assert registration(reg_id)["state"] == "cancelled"
    assert http.manage(reg_id, "z" * 43).status == 404
