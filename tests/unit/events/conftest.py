"""The Community Space workshops, the people who run and read them, and a way to call
the two functions as API Gateway would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import Answer, api_event, invoke, load_handler

LONDON = ZoneInfo("Europe/London")
ORIGIN = "https://community.example.org"

ORGANISER = {
    "sub": "3f1c2a9e-organiser-ruth",
    "cognito:groups": "organisers",
    "email": "ruth.organiser@community.example.org",
    "email_verified": "true",
}
MEMBER = {
    "sub": "8d7e6f5a-member-sam",
    "cognito:groups": "members",
    "email": "sam.member@example.net",
    "email_verified": "true",
}


def london(day: date, hour: int, minute: int = 0) -> str:
    """An ISO time with the London offset of that day, as a browser would send it."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).isoformat()


def thursday_weeks_ahead(weeks: int) -> date:
    today = datetime.now(LONDON).date()
    return today + timedelta(days=(3 - today.weekday()) % 7 + 7 * weeks)


def workshop(day: date, **overrides: Any) -> dict[str, Any]:
    """A Community Space workshop on `day`, 11:00-12:30 London time."""
    body: dict[str, Any] = {
        "title": "Community Space",
        "summary": "Join us online to share what is working in your community. "
        "Members: register to join the event.",
        "starts_at": london(day, 11),
        "ends_at": london(day, 12, 30),
        "timezone": "Europe/London",
        "capacity": 30,
        "joining_url": "https://meet.example.org/community-space/7d1e?pwd=s3cret",
    }
    body.update(overrides)
    return body


JULY_2021 = date(2021, 7, 22)


@dataclass
class Api:
    organisers: ModuleType
    registrations: ModuleType

    def create(self, body: Any, *, claims: dict[str, Any] | None = ORGANISER, **kw: Any) -> Answer:
        event = api_event("POST", "/admin/events", body=body, claims=claims, **kw)
        return invoke(self.organisers, event)

    def patch(
        self, event_id: str, body: Any, *, claims: dict[str, Any] | None = ORGANISER, **kw: Any
    ) -> Answer:
        event = api_event(
            "PATCH",
            f"/admin/events/{event_id}",
            resource="/admin/events/{eventId}",
            path_params={"eventId": event_id},
            body=body,
            claims=claims,
            **kw,
        )
        return invoke(self.organisers, event)

    def list(self, **query: str) -> Answer:
        return invoke(self.registrations, api_event("GET", "/events", query=query or None))

    def get(self, event_id: str, **kw: Any) -> Answer:
        event = api_event(
            "GET",
            f"/events/{event_id}",
            resource="/events/{eventId}",
            path_params={"eventId": event_id},
            **kw,
        )
        return invoke(self.registrations, event)

    def call(self, function: str, event: dict[str, Any]) -> Answer:
        return invoke(getattr(self, function), event)

    def published(self, body: dict[str, Any]) -> dict[str, Any]:
        """Creates and publishes an event; its organiser view."""
        created = self.create(body)
        assert created.status == 201, created.text
        answer = self.patch(created.json["id"], {"status": "published", "version": 1})
        assert answer.status == 200, answer.text
        result: dict[str, Any] = answer.json
        return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Read-only routes publish no business metric; Powertools warns about that on each call.
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@pytest.fixture(scope="session")
def handlers() -> tuple[ModuleType, ModuleType]:
    return load_handler("organisers"), load_handler("registrations")


@pytest.fixture
def api(aws: None, handlers: tuple[ModuleType, ModuleType]) -> Api:
    return Api(*handlers)


SetSeats = Callable[[str, int], None]


@pytest.fixture
def set_seats_taken() -> SetSeats:
    """What the registrations capability does in its transactions, done directly."""

    def apply(event_id: str, seats: int) -> None:
        import boto3
        from convene.settings import get_settings

        boto3.resource("dynamodb", region_name="eu-west-2").Table(
            get_settings().table_name
        ).update_item(
            Key={"pk": f"EVENT#{event_id}", "sk": "EVENT"},
            UpdateExpression="SET seats_taken = :n",
            ExpressionAttributeValues={":n": seats},
        )

    return apply
