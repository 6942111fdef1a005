"""Fuzzing: schemathesis generates requests from openapi.json for every route that
template.yaml serves, and sends them to a running twin. No answer is a 5xx, and every
answer matches what openapi.json says of it (status, content type, headers, body schema).

* Routes: openapi.json's operations that template.yaml routes (bench.routes); an operation
  the document describes but the template does not route yet is listed, not fuzzed.
* Budget: at least CONVENE_FUZZ_REQUESTS requests in all (5,000 by default), spread over
  the routes; schemathesis' valid (positive) and invalid (negative) data, half of the
  valid ones with path ids that exist (a seeded event, post, series or comment).
* Fixed seed (CONVENE_FUZZ_SEED, default 20210722), no example database: a run is
  reproducible. Protected routes get a token of their group, so the fuzzer reaches the
  handler behind the authorizer.
* Every answer also goes through the privacy recorder (tests/proof/privacy.py).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from functools import lru_cache
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bench.routes import OPENAPI, ApiRoute, api_routes, documented_only
from tests.integration.twin import Twin
from tests.proof.privacy import RECORDER

TOTAL = int(os.environ.get("CONVENE_FUZZ_REQUESTS", "5000"))
SEED = int(os.environ.get("CONVENE_FUZZ_SEED", "20210722"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZED = [r for r in api_routes() if r.documented]
# Operations with nothing to vary run out of distinct inputs early; the others share
# the budget, with a margin for those that stop short.
PER_ROUTE = max(50, math.ceil(TOTAL * 1.4 / max(1, len(FUZZED))))

SENT: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


@lru_cache(maxsize=1)
def _schema() -> Any:
    return schemathesis.openapi.from_path(OPENAPI)


def _operation(route: ApiRoute) -> Any:
    return _schema()[route.path][route.method]


@pytest.fixture(scope="module")
def known_ids(proof_twin: Twin) -> dict[str, str]:
    """Ids that exist in the twin, by path parameter name (from the public reads)."""
    from infra.local import seed as twin_seed

    ids = {"postId": twin_seed.POST_ID, "seriesId": twin_seed.SERIES_ID}
    events = proof_twin.get("/events").json().get("items") or []
    if events:
        ids["eventId"] = str(events[0]["id"])
    comments = proof_twin.get(f"/posts/{twin_seed.POST_ID}/comments")
    if comments.status_code == 200:
        for thread in comments.json().get("items") or comments.json().get("threads") or []:
            if isinstance(thread, dict) and thread.get("id"):
                ids["commentId"] = str(thread["id"])
                break
    return ids


def _auth_headers(twin: Twin, route: ApiRoute) -> dict[str, str]:
    if not route.protected or route.group is None:
        return {}
    for user in twin.config["users"]:
        if route.group in user["groups"]:
            return twin.headers(str(user["role"]))
    return {}


def test_every_served_route_is_described_in_openapi() -> None:
    undocumented = [r.key for r in api_routes() if not r.documented]
    assert not undocumented, f"template.yaml routes that openapi.json lacks: {undocumented}"


@pytest.mark.parametrize("route", FUZZED, ids=lambda r: r.key)
def test_fuzzing_a_route_never_gets_a_5xx_and_every_answer_matches_the_schema(
    proof_twin: Twin, route: ApiRoute, known_ids: dict[str, str]
) -> None:
    operation = _operation(route)
    known = {p: known_ids[p] for p in route.path_parameters() if p in known_ids}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    headers = _auth_headers(proof_twin, route)
    session = requests.Session()
    base_url = proof_twin.base_url
    started = time.monotonic()

    @seed(SEED)
    @settings(
        max_examples=PER_ROUTE,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(case=st.one_of(*strategies))
    def fuzz(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        SENT[route.key] += 1
        STATUSES[f"{route.key} {response.status_code}"] += 1
        RECORDER.observe(_Observed(response))
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        fuzz()
    finally:
        SECONDS[route.key] += time.monotonic() - started


class _Observed:
    """A schemathesis Response as the privacy recorder reads a requests.Response."""

    def __init__(self, response: Any) -> None:
        self.request = response.request
        self.status_code = response.status_code
        self.content = response.content
        self.headers = {k: ", ".join(v) for k, v in response.headers.items()}


SUMMARY: list[str] = []  # shown at the end of the session (tests/proof/privacy.py)


def test_the_fuzzer_sent_enough_requests_over_all_routes() -> None:
    if not SENT:
        pytest.skip("the fuzz tests did not run in this session")
    total = sum(SENT.values())
    seconds = sum(SECONDS.values())
    lines = [f"{k}: {n} requests, {SECONDS[k]:.1f} s" for k, n in sorted(SENT.items())]
    pending = documented_only()
    report = (
        f"fuzzing: {total} requests over {len(SENT)} routes in {seconds:.0f} s "
        f"({total / max(seconds, 1e-9):.0f}/s), seed {SEED}\n  " + "\n  ".join(lines)
    )
    if pending:
        report += f"\n  described in openapi.json, not routed yet: {', '.join(pending)}"
    SUMMARY[:] = [report]
    if len(SENT) < len(FUZZED):
        pytest.skip(f"only {len(SENT)} of {len(FUZZED)} routes were fuzzed in this session")
    assert total >= TOTAL, report
