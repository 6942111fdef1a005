"""Organisers create a workshop as a draft, publish it, and only then does the public see it."""

from __future__ import annotations

from datetime import date

from tests.unit.events.conftest import (
    JULY_2021,
    MEMBER,
    Api,
    SetSeats,
    thursday_weeks_ahead,
    workshop,
)


def test_organiser_creates_a_draft_with_its_private_fields(api: Api) -> None:
    answer = api.create(workshop(JULY_2021))

    assert answer.status == 201, answer.text
    event = answer.json
    assert event["id"].startswith("evt_")
    assert event["status"] == "draft"
    assert event["version"] == 1
    assert event["joining_url"] == "https://meet.example.org/community-space/7d1e?pwd=s3cret"
    assert event["starts_at"] == "2021-07-22T10:00:00Z"
    assert event["ends_at"] == "2021-07-22T11:30:00Z"
    assert event["registration_closes_at"] == event["starts_at"]
    assert event["reminders_minutes_before"] == [1440, 60]
    assert event["seats_taken"] == 0
    assert event["seats_left"] == 30


def test_a_draft_is_not_public_by_id_or_in_the_list(api: Api) -> None:
    draft = api.create(workshop(thursday_weeks_ahead(3))).json

    assert api.get(draft["id"]).status == 404
    assert api.get(draft["id"]).json["error"]["code"] == "not_found"
    assert api.list().json["items"] == []


def test_publishing_lists_the_workshop_with_its_seats_left(
    api: Api, set_seats_taken: SetSeats
) -> None:
    day = thursday_weeks_ahead(3)
    created = api.create(workshop(day, capacity=30)).json
    set_seats_taken(created["id"], 12)

    published = api.patch(created["id"], {"status": "published", "version": 1})

    assert published.status == 200, published.text
    assert published.json["status"] == "published"
    assert published.json["version"] == 2
    assert published.json["published_at"] is not None
    listed = api.list().json["items"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert listed[0]["seats_left"] == 18
    assert listed[0]["capacity"] == 30
    assert listed[0]["registration_open"] is True


def test_public_event_shows_the_july_workshop_in_summer_time(api: Api) -> None:
    published = api.published(workshop(JULY_2021))

    event = api.get(published["id"]).json

    assert event["when"] == "11:00-12:30 BST, Thursday 22 July 2021"
    assert event["starts_at"] == "2021-07-22T10:00:00Z"
    assert event["ends_at"] == "2021-07-22T11:30:00Z"
    assert event["timezone"] == "Europe/London"
    assert event["status"] == "published"
    # Registration closed when the workshop began.
    assert event["registration_open"] is False


def test_public_event_shows_a_winter_workshop_in_greenwich_mean_time(api: Api) -> None:
    published = api.published(workshop(date(2022, 1, 20)))

    event = api.get(published["id"]).json

    assert event["when"] == "11:00-12:30 GMT, Thursday 20 January 2022"
    assert event["starts_at"] == "2022-01-20T11:00:00Z"


def test_a_member_token_cannot_create_or_edit_events(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    refused_create = api.create(workshop(JULY_2021), claims=MEMBER)
    refused_patch = api.patch(created["id"], {"title": "Taken over"}, claims=MEMBER)

    assert refused_create.status == 403
    assert refused_create.json["error"]["code"] == "forbidden"
    assert refused_patch.status == 403


def test_without_claims_creating_or_editing_needs_sign_in(api: Api) -> None:
    created = api.create(workshop(JULY_2021)).json

    assert api.create(workshop(JULY_2021), claims=None).status == 401
    assert api.patch(created["id"], {"title": "Anonymous"}, claims=None).status == 401
    assert api.create(workshop(JULY_2021), claims=None).json["error"]["code"] == "unauthorized"


def test_an_organiser_can_send_the_workshop_as_a_form_post(api: Api) -> None:
    body = workshop(JULY_2021)
    form = {k: str(v) for k, v in body.items()}

    answer = api.create(None, form={**form, "waitlist": "on", "series_id": ""})

    assert answer.status == 201, answer.text
    assert answer.json["title"] == "Community Space"
    assert answer.json["series_id"] is None
    assert answer.json["waitlist"] is True


def test_a_form_post_with_a_bad_value_is_a_validation_error(api: Api) -> None:
    form = {k: str(v) for k, v in workshop(JULY_2021).items()}

    answer = api.create(None, form={**form, "capacity": "lots"})

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"capacity"}
