"""Limits: the largest body, the longest field, 1,000 query parameters and unicode edge
cases (right-to-left, zero-width, emoji, NUL) each get a clean 4xx or a correct
store-and-return, on every route template.yaml serves.

"Clean": never a 5xx; a 4xx in the one error shape; a 2xx with a body that parses. Where a
value is accepted and the answer echoes that field, it comes back exactly as sent.
Routes and field limits come from template.yaml and openapi.json (bench.routes); a valid
request to start from comes from the benchmark scenarios (bench.scenarios), so a new
capability is covered by adding its scenario row.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from bench.routes import METHODS_WITH_BODY, ApiRoute, api_routes, openapi
from bench.scenarios import SCENARIOS, Context, Req
from tests.integration.twin import Twin
from tests.proof.conftest import convene_against, error_shape

ROUTES = api_routes()
BODY_ROUTES = [r for r in ROUTES if r.method in METHODS_WITH_BODY]
MAX_BODY = 64 * 1024  # convene.settings.Settings.max_body_bytes (the template sets no other)
GATEWAY_MAX = 10 * 1024 * 1024  # API Gateway's payload limit

EDGE_TEXT = {
    "right-to-left": "\u05e9\u05dc\u05d5\u05dd \u202eevil.exe\u202c \u0645\u0631\u062d\u0628\u0627",
    "zero-width": "Ann\u200b\u200c\u200dLee\ufeff",
    "emoji": "Community \U0001f469\U0001f3fd\u200d\U0001f4bb Space \U0001f1ec\U0001f1e7",
    "NUL": "before\x00after",
    "combining": "Zoe\u0308 and Ame\u0301lie",
    "astral": "\U0001d4d2\U0001d4f8\U0001d4f6\U0001d4f6\U0001d4ee\U0001d4f7\U0001d4fd",
    "lone surrogate (escaped in JSON)": "\ud800",
}


def _ids(route: ApiRoute) -> str:
    return route.key


def clean(response: requests.Response, what: str) -> Any:
    """A clean answer: no 5xx; a 4xx in the error shape; a 2xx/3xx whose JSON parses."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    body: Any = None
    if response.content and "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            pytest.fail(f"{what}: {response.status_code} with a body that is not JSON")
    if 400 <= response.status_code < 500:
        assert error_shape(body), f"{what}: {response.status_code} {response.text[:300]}"
    return body


@pytest.fixture(scope="module")
def ctx(proof_twin: Twin) -> Context:
    from infra.local import seed

    events = proof_twin.get("/events").json().get("items") or []
    context = Context(
        event_id=str(events[0]["id"]) if events else seed.PAST_EVENT_ID,
        post_id=seed.POST_ID,
        series_id=seed.SERIES_ID,
    )
    public = [e for e in events if e.get("audience") == "public"]
    if public:
        context.extra["public_event_id"] = str(public[0]["id"])
    context.extra["twin"] = proof_twin
    return context


def auth(twin: Twin, route: ApiRoute) -> dict[str, str]:
    if not route.protected or not route.group:
        return {}
    role = next(u["role"] for u in twin.config["users"] if route.group in u["groups"])
    return twin.headers(str(role))


def base_request(route: ApiRoute, ctx: Context) -> Req:
    scenario = SCENARIOS.get(route.key)
    if scenario is not None and scenario.ready(ctx):
        with convene_against(ctx.extra["twin"]):
            return scenario.build(ctx)
    body = "{}" if route.method in METHODS_WITH_BODY else None
    return Req(route.method, route.sample_path(), {}, body,
               {"Content-Type": "application/json"} if body else {})


def send(twin: Twin, route: ApiRoute, req: Req, **kw: Any) -> requests.Response:
    headers = {**req.headers, **auth(twin, route), **kw.pop("headers", {})}
    return twin.request(req.method, req.url(), data=kw.pop("data", req.body), headers=headers,
                        **kw)


# ---------------------------------------------------------------- the largest body


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids)
def test_a_body_over_the_limit_is_refused_with_413(proof_twin: Twin, route: ApiRoute) -> None:
    ctx_req = Req(route.method, route.sample_path(), {}, None, {})
    body = json.dumps({"body": "x" * (MAX_BODY + 1)})
    response = send(proof_twin, route, ctx_req, data=body,
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 413, f"{route.key}: {response.status_code} {response.text[:200]}"
    assert error_shape(response.json())


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids)
def test_a_body_over_the_gateway_limit_is_refused_cleanly(
    proof_twin: Twin, route: ApiRoute
) -> None:
    response = proof_twin.request(
        route.method, route.sample_path(), data=b"x" * (GATEWAY_MAX + 1),
        headers={"Content-Type": "application/json", **auth(proof_twin, route)},
    )
    assert response.status_code == 413, response.status_code


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids)
def test_a_body_exactly_at_the_limit_gets_a_clean_answer(
    proof_twin: Twin, route: ApiRoute, ctx: Context
) -> None:
    req = base_request(route, ctx)
    start = json.loads(req.body or "{}")
    start = start if isinstance(start, dict) else {}
    padding = MAX_BODY - len(json.dumps({**start, "padding": ""}).encode())
    body = json.dumps({**start, "padding": "p" * padding})
    assert len(body.encode()) == MAX_BODY
    clean(send(proof_twin, route, req, data=body), f"{route.key} with a {MAX_BODY}-byte body")


# ---------------------------------------------------------------- the longest field


def string_fields(route: ApiRoute) -> list[tuple[str, int | None]]:
    schema = route.json_body_schema(openapi())
    if not schema:
        return []
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        options = prop.get("anyOf") or [prop]
        for option in options:
            if option.get("type") == "string":
                out.append((name, option.get("maxLength")))
                break
    return out


FIELD_CASES = [(r, f, n) for r in BODY_ROUTES for f, n in string_fields(r)]


@pytest.mark.parametrize(
    ("route", "field", "limit"), FIELD_CASES, ids=[f"{r.key} {f}" for r, f, _ in FIELD_CASES]
)
def test_the_longest_field_is_accepted_and_one_more_character_is_a_clean_4xx(
    proof_twin: Twin, route: ApiRoute, field: str, limit: int | None, ctx: Context
) -> None:
    req = base_request(route, ctx)
    start = json.loads(req.body or "{}")
    start = start if isinstance(start, dict) else {}
    longest = limit if limit is not None else 20_000
    at_limit = {**start, field: "a" * longest}
    clean(send(proof_twin, route, req, data=json.dumps(at_limit)), f"{field} at {longest}")
    if limit is not None:
        over = {**start, field: "a" * (limit + 1)}
        response = send(proof_twin, route, req, data=json.dumps(over))
        clean(response, f"{field} at {limit + 1}")
        assert 400 <= response.status_code < 500, (
            f"{route.key}: {field} of {limit + 1} characters (max {limit}) answered "
            f"{response.status_code}"
        )


# ---------------------------------------------------------------- 1,000 query parameters


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_a_thousand_query_parameters_get_a_clean_answer(
    proof_twin: Twin, route: ApiRoute, ctx: Context
) -> None:
    req = base_request(route, ctx)
    names = [p["name"] for p in route.query_parameters()]
    query = [(f"p{i}", str(i)) for i in range(1000)]
    clean(send(proof_twin, route, req, params=query), f"{route.key} with 1,000 parameters")
    for name in names:  # each declared parameter given 1,000 times
        repeated = [(name, f"v{i}") for i in range(1000)]
        clean(send(proof_twin, route, req, params=repeated), f"{route.key} {name} x 1,000")


# ---------------------------------------------------------------- unicode edge cases


TEXT_CASES = [(r, f) for r in BODY_ROUTES for f, _ in string_fields(r)]


@pytest.mark.parametrize(
    ("route", "field"), TEXT_CASES, ids=[f"{r.key} {f}" for r, f in TEXT_CASES]
)
def test_unicode_edge_cases_in_a_body_field_are_refused_cleanly_or_stored_as_sent(
    proof_twin: Twin, route: ApiRoute, field: str, ctx: Context
) -> None:
    for name, text in EDGE_TEXT.items():
        req = base_request(route, ctx)
        start = json.loads(req.body or "{}")
        start = start if isinstance(start, dict) else {}
        body = json.dumps({**start, field: text}, ensure_ascii=True)  # \ud800 stays escaped
        response = send(proof_twin, route, req, data=body)
        answer = clean(response, f"{route.key} {field} {name}")
        scenario = SCENARIOS.get(route.key)
        echoed = scenario is not None and field in scenario.echoes
        if 200 <= response.status_code < 300 and echoed and isinstance(answer, dict):
            assert answer[field] == text or answer[field] == text.strip(), (
                f"{route.key}: {field} {name} was stored as {answer[field]!r}, sent {text!r}"
            )


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_unicode_edge_cases_in_query_and_path_get_a_clean_answer(
    proof_twin: Twin, route: ApiRoute, ctx: Context
) -> None:
    req = base_request(route, ctx)
    names = [p["name"] for p in route.query_parameters()] or ["q"]
    for label, text in EDGE_TEXT.items():
        if label.startswith("lone surrogate"):
            continue  # not encodable in a URL
        for name in names:
            clean(send(proof_twin, route, req, params={name: text}),
                  f"{route.key} ?{name}= {label}")
        if route.path_parameters():
            values = {p: text for p in route.path_parameters()}
            path_req = Req(req.method, route.sample_path(values), {}, req.body, req.headers)
            clean(send(proof_twin, route, path_req), f"{route.key} path {label}")
