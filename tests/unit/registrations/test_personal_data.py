"""Personal data: kept only as long as needed, exported and erased on request; and the
"help plan future workshops" messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from convene.errors import NotFound

from tests.unit.registrations.conftest import (
    NOW,
    ORGANISER,
    Http,
    Publish,
    all_items,
    event_item,
    guest_confirms,
    guest_registers,
    mail,
    outbox,
    registration_of,
    registrations_of,
)

END = datetime(2021, 7, 22, 11, 30, tzinfo=UTC)  # 12:30 BST


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def test_personal_items_expire_ninety_days_after_the_workshop_ends(july: str) -> None:
    guest_confirms(july, "Priya", "priya@example.org")

    personal = [i for i in all_items() if i.get("entity") in {"registration", "person", "token"}]
    reg = registration_of(july, "priya@example.org")

    assert reg["expires_at"] == _epoch(END + timedelta(days=90))
    manage_tokens = [i for i in personal if i.get("purpose") == "manage"]
    assert manage_tokens and all(
        i["expires_at"] <= _epoch(END + timedelta(days=91)) for i in manage_tokens
    )
    person = [i for i in personal if i.get("entity") == "person"]
    assert [p["expires_at"] for p in person] == [_epoch(END + timedelta(days=90))]


def test_a_workshop_can_keep_personal_data_for_less_time(publish: Publish) -> None:
    event_id = publish(retention_days=30)
    guest_confirms(event_id, "Priya", "priya@example.org")

    assert registration_of(event_id, "priya@example.org")["expires_at"] == _epoch(
        END + timedelta(days=30)
    )


def test_an_unconfirmed_registration_expires_soon_after_its_48_hours(july: str) -> None:
    guest_registers(july, "Priya", "priya@example.org")

    reg = registration_of(july, "priya@example.org")
    assert reg["expires_at"] == _epoch(NOW + timedelta(hours=48 + 24))


def test_export_gives_every_registration_of_one_email(july: str, publish: Publish) -> None:
    from convene.registrations import service

    other = publish(datetime(2021, 7, 29).date())
    guest_confirms(july, "Priya Shah", "priya@example.org")
    guest_registers(other, "Priya Shah", "Priya@Example.org")
    guest_confirms(july, "Tom", "tom@example.org")

    export = service.export_person(" PRIYA@example.org ")

    assert sorted(r["event_id"] for r in export["registrations"]) == sorted([july, other])
    assert {r["email"] for r in export["registrations"]} == {"priya@example.org"}
    assert {r["status"] for r in export["registrations"]} == {
        "confirmed",
        "pending_confirmation",
    }


def test_erasing_removes_the_registrations_and_gives_the_seat_to_the_waiting_list(
    july: str,
) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    guest_confirms(july, "Tom", "tom@example.org")
    guest_confirms(july, "Ana", "ana@example.org")

    counts = service.erase_person("priya@example.org", now=NOW)

    assert counts == {"registrations": 1, "interest": 0}
    assert [r["email"] for r in registrations_of(july) if r["email"] == "priya@example.org"] == []
    assert not [i for i in all_items() if "priya" in str(i)]
    assert registration_of(july, "ana@example.org")["state"] == "offered"
    assert event_item(july)["seats_taken"] == 2
    assert mail("priya@example.org", "registration_cancelled") == []  # not emailed
    assert service.export_person("priya@example.org")["registrations"] == []


def test_after_erasure_the_same_email_may_register_again(july: str) -> None:
    from convene.registrations import service

    guest_confirms(july, "Priya", "priya@example.org")
    service.erase_person("priya@example.org", now=NOW)

    again = guest_confirms(july, "Priya", "priya@example.org", now=NOW + timedelta(hours=1))

    assert again.status == "confirmed"


def test_people_export_and_erase_over_http(http: Http, july: str) -> None:
    from tests.helpers import api_event, invoke

    guest_confirms(july, "Priya", "priya@example.org")

    def people(method: str) -> object:
        event = api_event(
            method, "/admin/people", query={"email": "priya@example.org"}, claims=ORGANISER
        )
        return invoke(http.fns["organisers"], event)

    exported = people("GET")
    erased = people("DELETE")

    assert exported.status == 200, exported.text  # type: ignore[attr-defined]
    body = exported.json  # type: ignore[attr-defined]
    assert body["registrations"]["registrations"][0]["name"] == "Priya"
    assert "comments" in body
    assert erased.status == 200, erased.text  # type: ignore[attr-defined]
    assert erased.json["registrations"] == {"registrations": 1, "interest": 0}  # type: ignore[attr-defined]


def test_someone_offers_to_help_plan_future_workshops(july: str) -> None:
    from convene.events import service as events
    from convene.events.models import SeriesIn
    from convene.registrations import service
    from convene.registrations.models import InterestIn

    events.put_series("community-space", SeriesIn(title="Community Space"), now=NOW)

    service.record_interest(
        "community-space",
        InterestIn(
            name="Priya Shah",
            email="Priya@example.org",
            message="I run a tool library and would love to help.",
            consent=True,
        ),
        now=NOW,
    )

    [told] = [m for m in outbox() if m["kind"] == "interest_received"]
    assert told["to"] == "role:organisers"
    assert told["reply_to"] == "priya@example.org"
    assert told["data"]["series"] == {"title": "Community Space"}
    assert told["data"]["message"] == "I run a tool library and would love to help."
    exported = service.export_person("priya@example.org")
    assert exported["interest"][0]["message"].startswith("I run a tool library")
    assert service.erase_person("priya@example.org", now=NOW)["interest"] == 1
    assert not [i for i in all_items() if "priya" in str(i).lower()]


def test_interest_over_http_by_form_with_a_honeypot_and_for_an_unknown_series(
    http: Http, july: str
) -> None:
    from convene.events import service as events
    from convene.events.models import SeriesIn

    events.put_series("community-space", SeriesIn(title="Community Space"), now=NOW)
    good = {"name": "Tom", "email": "tom@example.org", "message": "Count me in", "consent": "on"}

    posted = http.interest("community-space", form=good)
    bot = http.interest("community-space", body={**good, "consent": True, "website": "x"})
    unknown = http.interest("no-such-series", body={**good, "consent": True})
    no_consent = http.interest("community-space", body={**good, "consent": False})

    assert posted.status == 303
    assert posted.headers["location"].startswith("https://community.example.org/")
    assert bot.status == 202
    assert unknown.status == 404
    assert no_consent.status == 422
    assert "consent" in no_consent.json["error"]["fields"]
    assert len([m for m in outbox() if m["kind"] == "interest_received"]) == 1


def test_an_unknown_registration_is_not_found(aws: None) -> None:
    from convene.registrations import service

    with pytest.raises(NotFound):
        service.manage_view("reg_" + "0" * 32, "a" * 43, now=NOW)
