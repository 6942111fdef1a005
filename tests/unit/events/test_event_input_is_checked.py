"""What an organiser sends is checked field by field; a mistake names the field, and
nothing a client sends gives a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import api_event
from tests.unit.events.conftest import JULY_2021, ORGANISER, Api, london, workshop


def fields_of(answer: Any) -> dict[str, str]:
    assert answer.status == 422, answer.text
    assert answer.json["error"]["code"] == "validation_failed"
    fields: dict[str, str] = answer.json["error"]["fields"]
    return fields


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": london(JULY_2021, 10, 30)}, "ends_at"),
        ({"ends_at": london(JULY_2021, 11)}, "ends_at"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"starts_at": "2021-07-22T11:00:00"}, "starts_at"),
        # The far ends of datetime's range cannot be moved between zones (was a 500).
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
        ({"ends_at": "9999-12-31T23:30:00-05:00"}, "ends_at"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"venue": "The Old Library"}, "venue"),
        ({"capacity": "thirty"}, "capacity"),
        ({"waitlist": "perhaps"}, "waitlist"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"summary": "x" * 2001}, "summary"),
        ({"audience": "everyone"}, "audience"),
        ({"joining_url": "not a link"}, "joining_url"),
        ({"registration_closes_at": london(JULY_2021, 11, 30)}, "registration_closes_at"),
        ({"reminders_minutes_before": [60, 60]}, "reminders_minutes_before"),
        ({"reminders_minutes_before": [0]}, "reminders_minutes_before.0"),
        ({"retention_days": 0}, "retention_days"),
        ({"series_id": "community space!"}, "series_id"),
        ({"title": 42}, "title"),
    ],
)
def test_a_mistake_in_the_draft_is_a_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    fields = fields_of(api.create(workshop(JULY_2021, **change)))

    assert field in fields, fields


def test_every_mistake_is_reported_at_once(api: Api) -> None:
    body = workshop(JULY_2021, capacity=-1, timezone="Mars/Olympus", venue="Library")

    assert set(fields_of(api.create(body))) == {"capacity", "timezone", "venue"}


def test_missing_required_fields_are_named(api: Api) -> None:
    fields = fields_of(api.create({"summary": "No title, no times"}))

    assert {"title", "starts_at", "ends_at", "capacity"} <= set(fields)


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ({"id": "Dietary Needs", "label": "Dietary needs", "kind": "text"}, "questions.0.id"),
        (
            {"id": "role", "label": "Your role", "kind": "choice", "options": ["Host"]},
            "questions.0",
        ),
        (
            {"id": "access", "label": "Access needs", "kind": "text", "options": ["a", "b"]},
            "questions.0",
        ),
        ({"id": "role", "label": "Your role", "kind": "essay"}, "questions.0.kind"),
    ],
)
def test_a_badly_formed_question_is_named(api: Api, question: dict[str, Any], field: str) -> None:
    fields = fields_of(api.create(workshop(JULY_2021, questions=[question])))

    assert field in fields, fields


def test_questions_need_their_own_ids(api: Api) -> None:
    question = {"id": "role", "label": "Your role", "kind": "text"}

    fields = fields_of(api.create(workshop(JULY_2021, questions=[question, question])))

    assert "questions" in fields


def test_a_workshop_asks_its_own_questions(api: Api) -> None:
    questions = [
        {"id": "role", "label": "Your role", "kind": "choice", "options": ["Member", "Guest"]},
        {"id": "access", "label": "Any access needs?", "kind": "long_text"},
        {
            "id": "consent",
            "label": "I agree to the code of conduct",
            "kind": "checkbox",
            "required": True,
        },
    ]
    event = api.published(workshop(JULY_2021, questions=questions))

    public = api.get(event["id"]).json["questions"]

    assert [q["id"] for q in public] == ["role", "access", "consent"]
    assert public[0]["options"] == ["Member", "Guest"]
    assert public[2]["required"] is True


def test_malformed_json_is_a_400(api: Api) -> None:
    answer = api.create('{"title": "Community Space", ')

    assert answer.status == 400
    assert answer.json["error"]["code"] == "malformed"


def test_a_body_over_64_kib_is_a_413(api: Api) -> None:
    answer = api.create(workshop(JULY_2021, summary="x" * (64 * 1024)))

    assert answer.status == 413
    assert answer.json["error"]["code"] == "payload_too_large"


def test_an_unknown_route_is_a_404(api: Api) -> None:
    for function, method, path in [
        ("registrations", "GET", "/events/evt_0123/attendees"),
        ("registrations", "DELETE", "/events"),
        ("organisers", "GET", "/admin/nothing-here"),
    ]:
        answer = api.call(function, api_event(method, path, claims=ORGANISER))

        assert answer.status == 404, (method, path)
        assert answer.json["error"]["code"] == "not_found"


def test_an_unsupported_body_type_is_refused_cleanly(api: Api) -> None:
    answer = api.create(json.dumps(workshop(JULY_2021)), headers={"Content-Type": "text/plain"})

    assert answer.status == 415
    assert answer.json["error"]["code"] == "unsupported_media_type"


def test_a_json_body_that_is_not_an_object_is_a_validation_error(api: Api) -> None:
    for body in ("[]", '"Community Space"', "42", "null"):
        answer = api.create(body)

        assert answer.status in (400, 422), (body, answer.text)
        assert "error" in answer.json


def test_bad_list_parameters_are_422_naming_them(api: Api) -> None:
    assert "limit" in fields_of(api.list(limit="0"))
    assert "limit" in fields_of(api.list(limit="101"))
    assert "limit" in fields_of(api.list(limit="ten"))
    assert "series" in fields_of(api.list(series="community space"))
