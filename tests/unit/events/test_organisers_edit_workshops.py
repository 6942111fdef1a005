"""Organisers edit workshops: only what they send changes, no edit is lost to another,
and a change never breaks a promise already made to registrants."""

from __future__ import annotations

from typing import Any

import pytest
from convene.errors import Conflict, Gone
from convene.events import service
from convene.events.models import Event, EventPatch

from tests.unit.events.conftest import (
    JULY_2021,
    ORGANISER,
    Api,
    SetSeats,
    london,
    thursday_weeks_ahead,
    workshop,
)


def test_only_the_fields_sent_change(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    answer = api.patch(created["id"], {"title": "Community Space: July", "version": 1})

    assert answer.status == 200, answer.text
    edited = answer.json
    assert edited["title"] == "Community Space: July"
    assert edited["version"] == 2
    assert edited["status"] == "draft"
    assert {k: v for k, v in edited.items() if k not in {"title", "version", "updated_at"}} == {
        k: v for k, v in created.items() if k not in {"title", "version", "updated_at"}
    }


def test_an_empty_patch_changes_nothing(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    answer = api.patch(created["id"], {})

    assert answer.status == 200
    assert answer.json == created


def test_the_last_editor_is_recorded_but_not_shown(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    edited = api.patch(created["id"], {"capacity": 12}).json

    assert service.get_event(created["id"]).updated_by == ORGANISER["sub"]
    assert "updated_by" not in edited
    assert "organiser" not in edited


def test_a_joining_link_can_be_cleared(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    edited = api.patch(created["id"], {"joining_url": None}).json

    assert edited["joining_url"] is None


def test_lowering_capacity_below_the_seats_taken_is_a_409(
    api: Api, set_seats_taken: SetSeats
) -> None:
    event = api.published(workshop(thursday_weeks_ahead(2), capacity=30))
    set_seats_taken(event["id"], 25)

    refused = api.patch(event["id"], {"capacity": 20})
    allowed = api.patch(event["id"], {"capacity": 25})

    assert refused.status == 409
    assert refused.json["error"]["code"] == "capacity_below_seats_taken"
    assert "25" in refused.json["error"]["fields"]["capacity"]
    assert allowed.status == 200
    assert allowed.json["seats_left"] == 0


def test_an_edit_from_a_stale_version_is_a_409(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json
    first = api.patch(created["id"], {"capacity": 40, "version": 1})

    second = api.patch(created["id"], {"capacity": 25, "version": 1})

    assert first.status == 200
    assert second.status == 409
    assert second.json["error"]["code"] == "version_conflict"
    assert "version" in second.json["error"]["fields"]
    assert api.patch(created["id"], {"version": 2}).json["capacity"] == 40


def test_two_edits_racing_do_not_overwrite_each_other(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = api.create(workshop(JULY_2021)).json
    stale = service.get_event(created["id"])
    # Another organiser's edit lands between this edit's read and its write.
    api.patch(created["id"], {"title": "Community Space: July"})
    reads = iter([stale])
    real_get = service.get_event
    monkeypatch.setattr(
        service, "get_event", lambda event_id: next(reads, None) or real_get(event_id)
    )

    with pytest.raises(Conflict) as refused:
        service.update_event(created["id"], EventPatch(capacity=12), organiser=ORGANISER["sub"])

    assert refused.value.fields.keys() == {"version"}
    assert service.get_event(created["id"]).capacity == 30
    assert service.get_event(created["id"]).title == "Community Space: July"


def test_editing_an_unknown_event_is_a_404(api: Api) -> None:
    answer = api.patch("evt_000000000000", {"title": "Nowhere"})

    assert answer.status == 404
    assert answer.json["error"]["code"] == "not_found"


def test_a_patch_is_checked_against_the_stored_times(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    answer = api.patch(created["id"], {"ends_at": london(JULY_2021, 10)})

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"ends_at"}


def test_a_patch_refuses_unknown_fields_and_other_statuses(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    for body, field in [
        ({"venue": "Library"}, "venue"),
        ({"status": "cancelled"}, "status"),
        ({"status": "draft"}, "status"),
        ({"seats_taken": 0}, "seats_taken"),
        ({"title": None}, "title"),
        ({"version": 0}, "version"),
    ]:
        answer = api.patch(created["id"], body)

        assert answer.status == 422, (body, answer.text)
        assert field in answer.json["error"]["fields"], (body, answer.text)


def test_moving_the_workshop_bumps_the_calendar_sequence(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json
    retitled = api.patch(created["id"], {"title": "Community Space: July"}).json
    moved = api.patch(
        created["id"],
        {"starts_at": london(JULY_2021, 14), "ends_at": london(JULY_2021, 15, 30)},
    ).json

    assert retitled["sequence"] == 0
    assert moved["sequence"] == 1
    assert moved["when"] == "14:00-15:30 BST, Thursday 22 July 2021"
    # Registration that closed at the start still closes at the (new) start.
    assert moved["registration_closes_at"] == "2021-07-22T13:00:00Z"


def test_moving_a_published_workshop_moves_it_in_the_list(api: Api) -> None:
    a = api.published(workshop(thursday_weeks_ahead(2)))
    b = api.published(workshop(thursday_weeks_ahead(3)))
    later = thursday_weeks_ahead(4)

    api.patch(a["id"], {"starts_at": london(later, 11), "ends_at": london(later, 12, 30)})

    assert [e["id"] for e in api.list().json["items"]] == [b["id"], a["id"]]


def test_an_explicit_close_of_registration_stays_when_the_start_moves(api: Api) -> None:
    body = workshop(JULY_2021, registration_closes_at=london(JULY_2021, 9))
    created = api.create(body).json

    moved = api.patch(
        created["id"], {"starts_at": london(JULY_2021, 14), "ends_at": london(JULY_2021, 16)}
    ).json

    assert moved["registration_closes_at"] == "2021-07-22T08:00:00Z"


def test_publishing_twice_keeps_the_first_publication(api: Api) -> None:
    event = api.published(workshop(JULY_2021))

    again = api.patch(event["id"], {"status": "published"}).json

    assert again["status"] == "published"
    assert again["published_at"] == event["published_at"]


def test_a_cancelled_workshop_cannot_be_edited(api: Api) -> None:
    event = api.published(workshop(thursday_weeks_ahead(2)))
    _cancel(event["id"])

    answer = api.patch(event["id"], {"title": "Revived"})

    assert answer.status == 410
    assert answer.json["error"]["code"] == "gone"
    assert api.list().json["items"] == []
    assert api.get(event["id"]).json["status"] == "cancelled"
    with pytest.raises(Gone):
        service.update_event(event["id"], EventPatch(capacity=5), organiser=ORGANISER["sub"])


def _cancel(event_id: str) -> None:
    # What the cancel route will do: the event keeps its page but leaves the lists.
    import boto3
    from convene.events import table
    from convene.settings import get_settings

    stored: Any = service.get_event(event_id)
    cancelled = Event.model_validate(stored.model_dump() | {"status": "cancelled"})
    item = table.event_item(cancelled)
    boto3.resource("dynamodb", region_name="eu-west-2").Table(get_settings().table_name).put_item(
        Item=item
    )
