"""Every moderation route is for the `moderators` group: 401 without a token's claims, 403
for a member or an organiser, checked before the body is read."""

from __future__ import annotations

import pytest

from infra.local import template
from tests.unit.moderation.conftest import ROUTES, Desk, waiting


def test_the_template_routes_exactly_these_to_the_moderation_function() -> None:
    doc = template.load()
    events = doc["Resources"]["ModerationFunction"]["Properties"]["Events"]
    declared = {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events.values()
    }
    authorizers = {e["Properties"]["Auth"]["Authorizer"] for e in events.values()}

    assert declared == set(ROUTES.values())
    assert authorizers == {"CognitoAuthorizer"}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_request_without_claims_is_401(desk: Desk, route: str) -> None:
    answer = desk.call(route, who=None, comment_id="0f0f0f0f0f0f0f0f0f0f0f0f", body={})

    assert answer.status == 401
    assert answer.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("who", ["sam", "ruth"])
def test_a_member_or_an_organiser_is_403_before_the_body_is_read(
    desk: Desk, route: str, who: str
) -> None:
    answer = desk.call(route, who=who, comment_id="0f0f0f0f0f0f0f0f0f0f0f0f", body={"x": 1})

    assert answer.status == 403
    assert answer.json["error"]["code"] == "forbidden"


def test_a_member_cannot_decide_on_a_waiting_comment(desk: Desk) -> None:
    comment_id = waiting()

    answer = desk.decide(comment_id, "approve", who="sam")

    assert answer.status == 403
    assert desk.queue().json["items"][0]["comment_id"] == comment_id
