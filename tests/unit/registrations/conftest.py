"""The Community Space workshop of Thursday 22 July 2021, the people who register for it,
and ways to look at what registrations wrote: items, emails, links.

Service-level tests pass `now` (a week before the workshop); handler tests use the clock,
so they register for a workshop some Thursdays ahead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import Answer, api_event, invoke, load_handler

LONDON = ZoneInfo("Europe/London")
JULY_22 = date(2021, 7, 22)
# A week before the workshop, mid-morning in London.
NOW = datetime(2021, 7, 15, 9, 0, tzinfo=UTC)
JOINING_URL = "https://meet.example.org/community-space/7d1e?pwd=s3cret"

ORGANISER = {
    "sub": "3f1c2a9e-organiser-ruth",
    "cognito:groups": "organisers",
    "email": "ruth.organiser@community.example.org",
    "email_verified": "true",
}
MEMBER = {
    "sub": "8d7e6f5a-member-sam",
    "cognito:groups": "members",
    "email": "Sam.Member@example.net",
    "email_verified": "true",
    "name": "Sam Okafor",
}

QUESTIONS = [
    {
        "id": "topic",
        "label": "What would you like to talk about?",
        "kind": "long_text",
        "required": False,
    },
    {
        "id": "heard",
        "label": "How did you hear about Community Space?",
        "kind": "choice",
        "required": True,
        "options": ["Newsletter", "A friend", "Social media"],
    },
]
ANSWERS = {"heard": "Newsletter", "topic": "Running a tool library"}


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def thursday_weeks_ahead(weeks: int) -> date:
    today = datetime.now(LONDON).date()
    return today + timedelta(days=(3 - today.weekday()) % 7 + 7 * weeks)


def workshop_draft(day: date = JULY_22, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Community Space",
        "summary": "Join us online to share what is working in your community.",
        "starts_at": london(day, 11),
        "ends_at": london(day, 12, 30),
        "timezone": "Europe/London",
        "capacity": 2,
        "joining_url": JOINING_URL,
        "questions": QUESTIONS,
    }
    body.update(overrides)
    return body


Publish = Callable[..., str]


@pytest.fixture
def publish(aws: None) -> Publish:
    """Creates and publishes a workshop (as an organiser would); its id."""
    from convene.events import service as events
    from convene.events.models import EventDraft, EventPatch

    def make(day: date = JULY_22, *, now: datetime | None = None, **overrides: Any) -> str:
        when = now or (NOW - timedelta(days=14) if day == JULY_22 else datetime.now(UTC))
        draft = EventDraft.model_validate(workshop_draft(day, **overrides))
        created = events.create_event(draft, organiser=ORGANISER["sub"], now=when)
        events.update_event(
            created.id,
            EventPatch(status="published", version=1),
            organiser=ORGANISER["sub"],
            now=when,
        )
        return created.id

    return make


@pytest.fixture
def july(publish: Publish) -> str:
    """The 22 July 2021 workshop: two seats, a waiting list, two questions."""
    return publish()


# ---------------------------------------------------------------- looking at the tables


def main_table() -> Any:
    import boto3
    from convene.settings import get_settings

    return boto3.resource("dynamodb", region_name="eu-west-2").Table(get_settings().table_name)


def all_items() -> list[dict[str, Any]]:
    """Every item of MainTable (a Scan is fine in a test)."""
    return main_table().scan()["Items"]


def event_item(event_id: str) -> dict[str, Any]:
    item: dict[str, Any] = main_table().get_item(Key={"pk": f"EVENT#{event_id}", "sk": "EVENT"})[
        "Item"
    ]
    return item


def registration(registration_id: str) -> dict[str, Any]:
    item: dict[str, Any] = main_table().get_item(Key={"pk": f"REG#{registration_id}", "sk": "REG"})[
        "Item"
    ]
    return item


def registrations_of(event_id: str) -> list[dict[str, Any]]:
    return [
        i for i in all_items() if i.get("entity") == "registration" and i["event_id"] == event_id
    ]


def registration_of(event_id: str, email: str) -> dict[str, Any]:
    found = [r for r in registrations_of(event_id) if r["email"] == email.strip().lower()]
    assert len(found) == 1, found
    return found[0]


def outbox() -> list[dict[str, Any]]:
    import boto3
    from convene.settings import get_settings

    table = boto3.resource("dynamodb", region_name="eu-west-2").Table(
        get_settings().outbox_table_name
    )
    items: list[dict[str, Any]] = table.scan()["Items"]
    return sorted(items, key=lambda i: (i["created_at"], i["pk"]))


def mail(to: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in outbox()
        if (to is None or m["to"] == to.lower()) and (kind is None or m["kind"] == kind)
    ]


def token_in(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def confirm_token(to: str) -> str:
    """The token in the latest confirm-request email to `to`."""
    sent = mail(to, "registration_confirm_request")
    assert sent, f"no confirm request to {to}"
    return token_in(sent[-1]["data"]["confirm_url"])


def manage_token(to: str, kind: str = "registration_confirmed") -> str:
    sent = mail(to, kind)
    assert sent, f"no {kind} to {to}"
    return token_in(sent[-1]["data"]["manage_url"])


def offer_token(to: str) -> str:
    sent = mail(to, "waitlist_offer")
    assert sent, f"no offer to {to}"
    return token_in(sent[-1]["data"]["accept_url"])


# ---------------------------------------------------------------- the service, by hand


def form(name: str, email: str, **overrides: Any) -> Any:
    from convene.registrations.models import RegistrationIn

    body: dict[str, Any] = {"name": name, "email": email, "consent": True, "answers": ANSWERS}
    body.update(overrides)
    return RegistrationIn.model_validate(body)


def guest_registers(event_id: str, name: str, email: str, *, now: datetime = NOW) -> Any:
    from convene.registrations import service

    return service.register(event_id, form(name, email), caller=None, now=now)


def guest_confirms(event_id: str, name: str, email: str, *, now: datetime = NOW) -> Any:
    """A guest registers and clicks the link in the email."""
    from convene.registrations import service

    guest_registers(event_id, name, email, now=now)
    return service.confirm(confirm_token(email), now=now)


def member(sub: str, email: str, name: str = "A member") -> Any:
    from convene.auth import caller_from_claims

    return caller_from_claims(
        {
            "sub": sub,
            "email": email,
            "email_verified": "true",
            "cognito:groups": "members",
            "name": name,
        }
    )


# ---------------------------------------------------------------- the handlers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Read-only routes publish no business metric; Powertools warns about that on each call.
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@pytest.fixture(scope="session")
def functions() -> dict[str, ModuleType]:
    return {
        "registrations": load_handler("registrations"),
        "organisers": load_handler("organisers"),
        "reminders": load_handler("reminders"),
    }


@dataclass
class Http:
    fns: dict[str, ModuleType]

    def register(self, event_id: str, *, body: Any = None, **kw: Any) -> Answer:
        event = api_event(
            "POST",
            f"/events/{event_id}/registrations",
            resource="/events/{eventId}/registrations",
            path_params={"eventId": event_id},
            body=body,
            **kw,
        )
        return invoke(self.fns["registrations"], event)

    def confirm(self, token: str, method: str = "POST") -> Answer:
        event = api_event(method, "/registrations/confirm", query={"token": token})
        return invoke(self.fns["registrations"], event)

    def manage(self, registration_id: str, token: str) -> Answer:
        event = api_event(
            "GET",
            f"/registrations/{registration_id}",
            resource="/registrations/{registrationId}",
            path_params={"registrationId": registration_id},
            query={"token": token},
        )
        return invoke(self.fns["registrations"], event)

    def cancel(self, registration_id: str, token: str, **kw: Any) -> Answer:
        event = api_event(
            "POST",
            f"/registrations/{registration_id}/cancel",
            resource="/registrations/{registrationId}/cancel",
            path_params={"registrationId": registration_id},
            **kw,
        )
        if "body" not in kw and "form" not in kw:
            event["queryStringParameters"] = {"token": token}
            event["multiValueQueryStringParameters"] = {"token": [token]}
        return invoke(self.fns["registrations"], event)

    def calendar(self, registration_id: str, token: str) -> Answer:
        event = api_event(
            "GET",
            f"/registrations/{registration_id}/calendar.ics",
            resource="/registrations/{registrationId}/calendar.ics",
            path_params={"registrationId": registration_id},
            query={"token": token},
        )
        return invoke(self.fns["registrations"], event)

    def interest(self, series_id: str, **kw: Any) -> Answer:
        event = api_event(
            "POST",
            f"/series/{series_id}/interest",
            resource="/series/{seriesId}/interest",
            path_params={"seriesId": series_id},
            **kw,
        )
        return invoke(self.fns["registrations"], event)

    def admin(self, method: str, path: str, resource: str, event_id: str, **kw: Any) -> Answer:
        kw.setdefault("claims", ORGANISER)
        event = api_event(method, path, resource=resource, path_params={"eventId": event_id}, **kw)
        return invoke(self.fns["organisers"], event)


@pytest.fixture
def http(aws: None, functions: dict[str, ModuleType]) -> Http:
    return Http(functions)
