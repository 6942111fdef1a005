"""Every error either function answers has the one shape, and a browser on the site's
origin can read it (CORS)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from convene.settings import get_settings

from tests.helpers import LambdaContext, api_event, load_handler

ORIGIN = "https://community.example.org"
ORGANISER = {"sub": "3f1c2a9e-organiser-ruth", "cognito:groups": "organisers"}
MEMBER = {"sub": "8d7e6f5a-member-sam", "cognito:groups": "members"}
GOOD_DRAFT = {
    "title": "Community Space",
    "starts_at": "2021-07-22T11:00:00+01:00",
    "ends_at": "2021-07-22T12:30:00+01:00",
    "capacity": 30,
}

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def _admin(method: str, path: str, **kw: Any) -> dict[str, Any]:
    resource = "/admin/events/{eventId}" if path.count("/") == 3 else path
    params = {"eventId": path.rsplit("/", 1)[1]} if path.count("/") == 3 else None
    return api_event(method, path, resource=resource, path_params=params, **kw)


# (function, what is wrong, the event, the status expected)
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "organisers",
        "malformed JSON",
        _admin("POST", "/admin/events", body="{", claims=ORGANISER),
        400,
    ),
    ("organisers", "no claims", _admin("POST", "/admin/events", body=GOOD_DRAFT), 401),
    (
        "organisers",
        "a member",
        _admin("POST", "/admin/events", body=GOOD_DRAFT, claims=MEMBER),
        403,
    ),
    (
        "organisers",
        "unknown event",
        _admin("PATCH", "/admin/events/evt_000000000000", body={"title": "x"}, claims=ORGANISER),
        404,
    ),
    ("organisers", "unknown route", api_event("GET", "/admin/nowhere", claims=ORGANISER), 404),
    (
        "organisers",
        "too large",
        _admin(
            "POST", "/admin/events", body={**GOOD_DRAFT, "summary": "x" * 70_000}, claims=ORGANISER
        ),
        413,
    ),
    (
        "organisers",
        "plain text",
        _admin(
            "POST",
            "/admin/events",
            body="title=x",
            claims=ORGANISER,
            headers={"Content-Type": "text/plain"},
        ),
        415,
    ),
    (
        "organisers",
        "invalid field",
        _admin("POST", "/admin/events", body={**GOOD_DRAFT, "capacity": -1}, claims=ORGANISER),
        422,
    ),
    (
        "registrations",
        "unknown event",
        api_event(
            "GET",
            "/events/evt_000000000000",
            resource="/events/{eventId}",
            path_params={"eventId": "evt_000000000000"},
        ),
        404,
    ),
    ("registrations", "unknown route", api_event("GET", "/nowhere"), 404),
    ("registrations", "bad cursor", api_event("GET", "/events", query={"cursor": "nope"}), 422),
    ("registrations", "bad limit", api_event("GET", "/events", query={"limit": "-3"}), 422),
    ("registrations", "too large", api_event("POST", "/events", body="x" * 70_000), 413),
]


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    """Headers as API Gateway sends them: both maps merged, names in lower case."""
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    return headers


@pytest.fixture(scope="module")
def functions() -> dict[str, ModuleType]:
    return {name: load_handler(name) for name in ("organisers", "registrations")}


@pytest.mark.parametrize(
    ("function", "event", "status"),
    [(f, e, s) for f, _, e, s in CASES],
    ids=[f"{f}: {what}" for f, what, _, _ in CASES],
)
def test_error_has_the_one_shape_and_cors(
    aws: None, functions: dict[str, ModuleType], function: str, event: dict[str, Any], status: int
) -> None:
    event = json.loads(json.dumps(event))
    event["headers"]["Origin"] = ORIGIN
    event["multiValueHeaders"]["Origin"] = [ORIGIN]

    result = functions[function].lambda_handler(event, LambdaContext())

    assert result["statusCode"] == status, result["body"]
    body = json.loads(result["body"])
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())
    headers = response_headers(result)
    assert headers["access-control-allow-origin"] == get_settings().allowed_origin == ORIGIN
    assert headers["content-type"].startswith("application/json")


def test_another_origin_gets_no_cors_header(aws: None, functions: dict[str, ModuleType]) -> None:
    event = api_event(
        "GET",
        "/events/evt_000000000000",
        resource="/events/{eventId}",
        path_params={"eventId": "evt_000000000000"},
        headers={"Origin": "https://evil.example.com"},
    )

    result = functions["registrations"].lambda_handler(event, LambdaContext())

    assert result["statusCode"] == 404
    assert "access-control-allow-origin" not in response_headers(result)
