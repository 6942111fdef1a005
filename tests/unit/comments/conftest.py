"""The blog post "This is your Community Space", the people who comment on it, and a way
to call the Comments and Organisers functions as API Gateway would."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from convene.auth import caller_from_claims
from convene.comments import policy
from convene.comments.models import CommentIn
from convene.posts import service as posts
from convene.posts.models import PostIn

from tests.helpers import Answer, api_event, invoke, load_handler

POST_ID = "this-is-your-community-space"
POST_TITLE = "This is your Community Space"
POST_URL = f"https://community.example.org/blog/{POST_ID}"

ORGANISER = {
    "sub": "3f1c2a9e-organiser-ruth",
    "cognito:groups": "organisers",
    "email": "ruth.organiser@community.example.org",
    "email_verified": "true",
}
MODERATOR = "5b2d-moderator-priya"

# Members sign in with a Cognito ID token; tests hand the function these instead, and the
# token check below answers with the matching claims.
MEMBERS = {
    "token-sam": {
        "sub": "8d7e6f5a-member-sam",
        "cognito:groups": "members",
        "email": "sam.member@example.net",
        "email_verified": "true",
        "name": "Sam Okafor",
        "token_use": "id",
    },
    "token-alex": {
        "sub": "1a2b3c4d-member-alex",
        "cognito:groups": "members",
        "email": "alex.member@example.net",
        "email_verified": "true",
        "name": "Alex Rivera",
        "token_use": "id",
    },
}

GUEST = {"name": "Jo Guest", "email": "jo.guest@example.org"}
FIRST_COMMENT = (
    "Thank you for starting this space. The July workshop was the first time I heard how "
    "other groups plan their sessions, and I came away with *three* ideas to try."
)

_ips = itertools.count(1)


def fresh_ip() -> str:
    """A different reader's address for each call, unless a test says otherwise."""
    n = next(_ips)
    return f"198.51.{n // 250 % 250}.{n % 250 + 1}"


@dataclass
class Api:
    comments: ModuleType
    organisers: ModuleType

    def event(
        self,
        method: str,
        path: str,
        resource: str,
        path_params: dict[str, str] | None = None,
        *,
        ip: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        event = api_event(
            method, path, resource=resource, path_params=path_params, headers=hdrs, **kw
        )
        event["requestContext"]["identity"]["sourceIp"] = ip or fresh_ip()
        return event

    def policy(self) -> Answer:
        return invoke(self.comments, self.event("GET", "/comment-policy", "/comment-policy"))

    def list(self, post_id: str = POST_ID, **query: str) -> Answer:
        event = self.event(
            "GET",
            f"/posts/{post_id}/comments",
            "/posts/{postId}/comments",
            {"postId": post_id},
            query=query or None,
        )
        return invoke(self.comments, event)

    def counts(self, *post_ids: str) -> Answer:
        query: dict[str, str | list[str]] | None = {"post": list(post_ids)} if post_ids else None
        event = self.event("GET", "/comment-counts", "/comment-counts", query=query)
        return invoke(self.comments, event)

    def submit(
        self, body: dict[str, Any] | None = None, *, post_id: str = POST_ID, **kw: Any
    ) -> Answer:
        if body is not None:
            kw["body"] = body
        event = self.event(
            "POST",
            f"/posts/{post_id}/comments",
            "/posts/{postId}/comments",
            {"postId": post_id},
            **kw,
        )
        return invoke(self.comments, event)

    def report(self, comment_id: str, body: dict[str, Any] | None = None, **kw: Any) -> Answer:
        if body is not None:
            kw["body"] = body
        event = self.event(
            "POST",
            f"/comments/{comment_id}/reports",
            "/comments/{commentId}/reports",
            {"commentId": comment_id},
            **kw,
        )
        return invoke(self.comments, event)

    def register_post(
        self, post_id: str, body: dict[str, Any], claims: dict[str, Any] | None = ORGANISER
    ) -> Answer:
        event = api_event(
            "PUT",
            f"/admin/posts/{post_id}",
            resource="/admin/posts/{postId}",
            path_params={"postId": post_id},
            body=body,
            claims=claims,
        )
        return invoke(self.organisers, event)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@pytest.fixture(scope="session")
def handlers() -> tuple[ModuleType, ModuleType]:
    return load_handler("comments"), load_handler("organisers")


@pytest.fixture
def member_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stands in for Cognito's key set: the test tokens above are valid, nothing else is."""
    from convene import api as convene_api
    from convene.errors import Unauthorized

    def verify(token: str, **_: Any) -> dict[str, Any]:
        if token not in MEMBERS:
            raise Unauthorized("Sign in: the token is missing, invalid or expired.")
        return dict(MEMBERS[token])

    monkeypatch.setattr(convene_api, "verify_id_token", verify)


@pytest.fixture
def held_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The comments service's clock held at one moment, so a run of comments cannot fall
    across the edge of a rate window (fixed windows of 600 s and 3600 s). Returns it."""
    from convene.comments import service

    moment = datetime.now(UTC)
    monkeypatch.setattr(service, "clock", lambda: moment)
    return moment


@pytest.fixture
def comment_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change the comments configuration through the environment, as a deployment does."""
    policy.reset()
    yield monkeypatch
    monkeypatch.undo()
    policy.reset()


@pytest.fixture
def post(aws: None) -> str:
    posts.register_post(
        POST_ID,
        PostIn(title=POST_TITLE, url=POST_URL, comments_open=True),
        organiser=ORGANISER["sub"],
    )
    return POST_ID


@pytest.fixture
def api(aws: None, post: str, member_tokens: None, handlers: tuple[ModuleType, ModuleType]) -> Api:
    policy.reset()
    return Api(*handlers)


def member(token: str) -> Any:
    return caller_from_claims(MEMBERS[token])


def guest_comment(body: str = FIRST_COMMENT, **fields: Any) -> CommentIn:
    return CommentIn.model_validate({**GUEST, "body": body, **fields})


_readers = itertools.count(1)


def publish(
    body: str = FIRST_COMMENT,
    *,
    parent_id: str | None = None,
    name: str | None = None,
    email: str | None = None,
    notify: bool = False,
    post_id: str = POST_ID,
) -> str:
    """A guest's comment, approved by a moderator: the usual way a comment appears."""
    from convene.comments import service

    n = next(_readers)
    comment = CommentIn(
        name=name or f"Reader {n}",
        email=email or f"reader{n}@example.org",
        body=body,
        parent_id=parent_id,
        notify=notify,
    )
    result = service.submit_comment(post_id, comment, member=None, source_ip=fresh_ip())
    service.apply_decision(result.comment_id, "approve", expected_version=1, moderator=MODERATOR)
    return result.comment_id


def stored(comment_id: str) -> dict[str, Any]:
    from convene.comments import table

    item = table.get_comment(comment_id)
    assert item is not None
    return item


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


def member_history(token: str, approved: int) -> list[str]:
    """A member's earlier comments, each approved by a moderator."""
    from convene.comments import service

    ids = []
    for n in range(approved):
        result = service.submit_comment(
            POST_ID,
            CommentIn(body=f"Earlier thought number {n} on the workshop."),
            member=member(token),
            source_ip=None,
        )
        service.apply_decision(
            result.comment_id, "approve", expected_version=1, moderator=MODERATOR
        )
        ids.append(result.comment_id)
    return ids


@pytest.fixture
def ddb_calls(aws: None) -> Iterator[list[str]]:
    """The DynamoDB operations made while the test runs (client and resource alike)."""
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
