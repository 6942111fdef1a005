"""The warm stack floor does the work every Convene route's stack does.

bench/warm_floor.py times a handler with Powertools' decorators and the validated REST
resolver and nothing of Convene's, and RESULTS.md reads each route's least possible warm
ratio from it. A floor that skipped validation, or answered before reaching its route,
would make that column claim less than the stack really costs.
"""

from __future__ import annotations

import json

import pytest

from bench import warm_floor
from tests.helpers import LambdaContext, api_event


def _put(body: object) -> dict[str, object]:
    handler = warm_floor._handler()
    event = api_event(
        "PUT", "/items", body=json.dumps(body), headers={"Origin": "https://example.org"}
    )
    answer: dict[str, object] = handler(event, LambdaContext())
    return answer


def test_the_floor_route_validates_its_body_and_answers_with_its_response_model() -> None:
    answer = _put({"kind": "domain", "value": "  example.net "})

    assert answer["statusCode"] == 200
    assert json.loads(str(answer["body"])) == {
        "kind": "domain",
        "value": "example.net",
        "created_at": "2026-11-29T12:00:00Z",
    }
    cors = answer.get("multiValueHeaders") or {}
    assert isinstance(cors, dict)
    assert cors.get("Access-Control-Allow-Origin") == ["https://example.org"]


@pytest.mark.parametrize(
    "body",
    [{"kind": "phone", "value": "x"}, {"kind": "domain", "value": ""}, {"kind": "word"}],
)
def test_the_floor_route_refuses_a_body_its_model_does_not_allow(body: object) -> None:
    assert _put(body)["statusCode"] == 422


def test_a_floor_timing_is_a_whole_request() -> None:
    floor = warm_floor.Floor()

    assert floor.time() > 0
    assert floor.isolated(samples=5) > 0


def test_the_least_ratio_adds_the_floor_to_the_replayed_calls() -> None:
    assert warm_floor.least_ratio(2.0, 0.5) == 1.25
    assert warm_floor.least_ratio(None, 0.5) is None
    assert warm_floor.least_ratio(2.0, None) is None
