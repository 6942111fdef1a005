"""The moderators' desk: the blog post "This is your Community Space", readers' comments
waiting for review, two moderators (Priya and Lee) calling the Moderation function as API
Gateway would, and a clock that moves on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from convene.comments import policy
from convene.comments import service as comments
from convene.comments.models import CommentIn, ReportIn
from convene.moderation import service
from convene.posts import service as posts
from convene.posts.models import PostIn

from tests.helpers import Answer, api_event, invoke, load_handler

POST_ID = "this-is-your-community-space"
POST_TITLE = "This is your Community Space"
POST_URL = f"https://community.example.org/blog/{POST_ID}"

PEOPLE: dict[str, dict[str, str]] = {
    "priya": {
        "sub": "5b2d-moderator-priya",
        "cognito:groups": "moderators",
        "email": "priya.moderator@community.example.org",
        "name": "Priya Shah",
    },
    "lee": {
        "sub": "7c3e-moderator-lee",
        "cognito:groups": "moderators",
        "email": "lee.moderator@community.example.org",
        "name": "Lee Walker",
    },
    "sam": {
        "sub": "8d7e6f5a-member-sam",
        "cognito:groups": "members",
        "email": "sam.member@example.net",
        "name": "Sam Okafor",
    },
    "ruth": {
        "sub": "3f1c2a9e-organiser-ruth",
        "cognito:groups": "organisers",
        "email": "ruth.organiser@community.example.org",
        "name": "Ruth Mensah",
    },
}

ROUTES = {
    "queue": ("GET", "/moderation/queue"),
    "claims": ("POST", "/moderation/claims"),
    "decision": ("POST", "/moderation/comments/{commentId}/decision"),
    "decisions": ("POST", "/moderation/decisions"),
    "history": ("GET", "/moderation/comments/{commentId}/history"),
    "stats": ("GET", "/moderation/stats"),
    "blocks": ("GET", "/moderation/blocks"),
    "put_block": ("PUT", "/moderation/blocks"),
    "remove_block": ("DELETE", "/moderation/blocks"),
}

_readers = itertools.count(1)


@dataclass
class Clock:
    """What the moderation service takes as "now": the real time, moved on by tests."""

    offset: timedelta = field(default_factory=timedelta)

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return self.now


@dataclass
class Desk:
    moderation: ModuleType
    comments: ModuleType
    clock: Clock

    def call(
        self,
        route: str,
        *,
        who: str | None = "priya",
        comment_id: str | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        method, resource = ROUTES[route]
        path = resource.replace("{commentId}", comment_id or "")
        event = api_event(
            method,
            path,
            resource=resource,
            path_params={"commentId": comment_id} if comment_id else None,
            query=dict(query) if query else None,
            body=body,
            headers=headers,
            claims=PEOPLE[who] if who else None,
        )
        return invoke(self.moderation, event)

    # ------------------------------------------------------------ the routes

    def queue(self, queue: str = "pending", *, who: str = "priya", **query: str) -> Answer:
        return self.call("queue", who=who, query={"queue": queue, **query})

    def claim(self, count: int = 5, queue: str = "pending", *, who: str = "priya") -> Answer:
        return self.call("claims", who=who, body={"queue": queue, "count": count})

    def decide(
        self, comment_id: str, action: str = "approve", *, who: str = "priya", **body: Any
    ) -> Answer:
        return self.call(
            "decision", who=who, comment_id=comment_id, body={"action": action, **body}
        )

    def history(self, comment_id: str, *, who: str = "priya") -> Answer:
        return self.call("history", who=who, comment_id=comment_id)

    def stats(self, *, who: str = "priya", **query: str) -> Answer:
        return self.call("stats", who=who, query=query or None)

    # ------------------------------------------------------------ what readers see

    def public_page(self) -> dict[str, Any]:
        event = api_event(
            "GET",
            f"/posts/{POST_ID}/comments",
            resource="/posts/{postId}/comments",
            path_params={"postId": POST_ID},
        )
        answer = invoke(self.comments, event)
        assert answer.status == 200, answer.text
        page: dict[str, Any] = answer.json
        return page


def fresh_ip() -> str:
    n = next(_readers)
    return f"198.51.{n // 250 % 250}.{n % 250 + 1}"


BLOCKED = "casino"


def caught(
    body: str = f"Our {BLOCKED} night raised money for the hall.",
    *,
    email: str = "dana@example.org",
    parent_id: str | None = None,
    notify: bool = True,
    now: datetime | None = None,
) -> str:
    """A guest's comment that a word block sends quietly to spam: its id."""
    result = comments.submit_comment(
        POST_ID,
        CommentIn(name="Dana", email=email, body=body, parent_id=parent_id, notify=notify),
        member=None,
        source_ip=fresh_ip(),
        now=now,
    )
    assert result.status == "pending"  # the author is answered as usual
    return result.comment_id


def waiting(
    body: str = "The July workshop gave our group three ideas to try.",
    *,
    name: str | None = None,
    email: str | None = None,
    parent_id: str | None = None,
    notify: bool = False,
) -> str:
    """A guest's comment, held for review in the pending queue: its id."""
    n = next(_readers)
    result = comments.submit_comment(
        POST_ID,
        CommentIn(
            name=name or f"Reader {n}",
            email=email or f"reader{n}@example.org",
            body=f"{body} ({n})",
            parent_id=parent_id,
            notify=notify,
        ),
        member=None,
        source_ip=fresh_ip(),
    )
    assert result.status == "pending"
    return result.comment_id


def report(comment_id: str, reason: str = "off_topic", note: str | None = None) -> None:
    comments.report_comment(
        comment_id,
        ReportIn(reason=reason, note=note),
        member=None,
        source_ip=fresh_ip(),
        user_agent="Mozilla/5.0 (reader)",
    )


def outbox() -> list[dict[str, Any]]:
    import boto3
    from convene.settings import get_settings

    table = boto3.resource("dynamodb", region_name="eu-west-2").Table(
        get_settings().outbox_table_name
    )
    return list(table.scan()["Items"])


def main_items() -> list[dict[str, Any]]:
    """Every item of MainTable: tests look at what was stored, never request paths."""
    import boto3
    from convene.settings import get_settings

    table = boto3.resource("dynamodb", region_name="eu-west-2").Table(get_settings().table_name)
    return list(table.scan()["Items"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@pytest.fixture(scope="session")
def handlers() -> tuple[ModuleType, ModuleType]:
    return load_handler("moderation"), load_handler("comments")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moment = Clock()
    monkeypatch.setattr(service, "clock", lambda: moment.now)
    return moment


@pytest.fixture
def post(aws: None) -> Iterator[str]:
    policy.reset()
    posts.register_post(
        POST_ID,
        PostIn(title=POST_TITLE, url=POST_URL, comments_open=True),
        organiser=PEOPLE["ruth"]["sub"],
    )
    yield POST_ID
    policy.reset()


@pytest.fixture
def desk(post: str, clock: Clock, handlers: tuple[ModuleType, ModuleType]) -> Desk:
    return Desk(*handlers, clock=clock)


@pytest.fixture
def ddb_calls(aws: None) -> Iterator[list[str]]:
    """The DynamoDB operations convene makes while the test runs."""
    from convene import aws as convene_aws

    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    clients = [convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client]
    for ddb in clients:
        ddb.meta.events.register("before-call.dynamodb.*", count)
    yield calls
    for ddb in clients:
        ddb.meta.events.unregister("before-call.dynamodb.*", count)
