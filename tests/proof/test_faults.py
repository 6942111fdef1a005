"""Faults: DynamoDB stops, and DynamoDB throttles.

* Outage: the twin (tests/proof/fault_rig.py: the twin's own code, in front of a DynamoDB
  Local this test owns) serves every scenario route; DynamoDB Local is stopped; every
  request that needs it answers 503 with Retry-After in the one error shape, never 500 or
  502, and the tables are exactly as they were (nothing half-written); DynamoDB Local
  starts again on the same data and the same twin answers normally, with no restart.
* Throttling: a botocore hook on convene's clients answers the first two attempts of every
  DynamoDB call with ProvisionedThroughputExceededException; the SDK's retries get each
  call through and every route answers as it would have (in-process, moto). Throttled on
  every attempt, a route answers 503 with Retry-After.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.routes import api_routes
from bench.scenarios import SCENARIOS, Context, Req, Scenario
from infra.local import dynamodb as ddb
from tests.integration import twin as twin_module
from tests.integration.twin import Twin, twin_environment
from tests.proof.conftest import convene_against, error_shape, forget_clients

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {r.key: r for r in api_routes()}
# Rows whose request needs something only a previous email gives (a confirmation token)
# are left to the integration and load runs.
SERVED = [s for s in SCENARIOS.values() if s.route in ROUTES and not s.needs]


def _ids(s: Scenario) -> str:
    return s.route


# ---------------------------------------------------------------- outage


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = ddb.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data = tmp / "data"
        self.dynamodb: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "twin.log"
        twin_module.LOG_FILES.append(self.log_path)
        self.proc: subprocess.Popen[bytes] | None = None

    def start_dynamodb(self) -> None:
        self.dynamodb = ddb.start_dynamodb_local(self.port, self.data)
        ddb.wait_ready(self.endpoint, 120, self.dynamodb)

    def stop_dynamodb(self) -> None:
        ddb.stop(self.dynamodb)

    def start_twin(self) -> Twin:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.proof.fault_rig", "--dynamodb-endpoint", self.endpoint],
            cwd=ROOT, env=twin_environment(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("READY "):
                    return Twin(line.split(" ", 1)[1].strip())
            if self.proc.poll() is not None:
                pytest.fail(f"the fault rig exited:\n{text[-3000:]}", pytrace=False)
            time.sleep(0.3)
        pytest.fail("the fault rig did not start in 180 s", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.stop_dynamodb()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def snapshot(self) -> dict[str, int]:
        """Items per table, read directly (a Scan here is the test's, not a request's)."""
        import boto3

        client = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name="eu-west-2",
                              aws_access_key_id="local", aws_secret_access_key="local-secret")
        counts = {}
        for name in client.list_tables()["TableNames"]:
            pages = client.get_paginator("scan").paginate(TableName=name, Select="COUNT")
            counts[name] = sum(p["Count"] for p in pages)
        return counts


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig(tmp_path_factory.mktemp("fault-rig"))
    rig.start_dynamodb()
    try:
        rig.twin = rig.start_twin()  # type: ignore[attr-defined]
        yield rig
    finally:
        rig.stop()


def _context(twin: Twin) -> Context:
    from infra.local import seed

    events = twin.get("/events").json().get("items") or []
    ctx = Context(event_id=str(events[0]["id"]) if events else seed.PAST_EVENT_ID,
                  post_id=seed.POST_ID, series_id=seed.SERIES_ID)
    public = [e for e in events if e.get("audience") == "public"]
    if public:
        ctx.extra["public_event_id"] = str(public[0]["id"])
    return ctx


def _build(twin: Twin, scenario: Scenario, ctx: Context) -> Req:
    with convene_against(twin):
        return scenario.build(ctx)


def _send(
    twin: Twin, scenario: Scenario, ctx: Context, req: Req | None = None
) -> requests.Response:
    req = req or _build(twin, scenario, ctx)
    headers = {**req.headers, **(twin.headers(scenario.role) if scenario.role else {})}
    return twin.request(req.method, req.url(), data=req.body, headers=headers, timeout=120)


def test_when_dynamodb_stops_every_request_answers_503_and_recovers_by_itself(rig: Rig) -> None:
    twin: Twin = rig.twin  # type: ignore[attr-defined]
    ctx = _context(twin)
    for scenario in SERVED:  # tokens and a working baseline before the outage
        if scenario.role:
            twin.id_token(scenario.role)
        before = _send(twin, scenario, ctx)
        assert before.status_code < 500, f"{scenario.route} before: {before.status_code}"

    prepared = {s.route: _build(twin, s, ctx) for s in SERVED}  # while DynamoDB is up
    twin.drain()  # the emails of the baseline are sent: nothing else is writing now
    tables_before = rig.snapshot()
    rig.stop_dynamodb()
    outage: dict[str, int] = {}
    for scenario in SERVED:
        response = _send(twin, scenario, ctx, prepared[scenario.route])
        outage[scenario.route] = response.status_code
        assert response.status_code not in (500, 502), (
            f"{scenario.route} during the outage: {response.status_code} {response.text[:300]}"
        )
        if scenario.min_calls:
            assert response.status_code == 503, (
                f"{scenario.route} needs DynamoDB but answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        if response.status_code == 503:
            assert response.headers.get("Retry-After", "").isdigit(), response.headers
            assert error_shape(response.json()), response.text
    assert rig.alive(), "the twin died with DynamoDB"

    rig.start_dynamodb()
    assert rig.snapshot() == tables_before, "a request that answered 503 left a partial write"
    deadline = time.monotonic() + 60
    recovered: dict[str, int] = {}
    while time.monotonic() < deadline:
        recovered = {s.route: _send(twin, s, ctx).status_code for s in SERVED}
        if all(code < 500 for code in recovered.values()):
            break
        time.sleep(2)
    assert all(code < 500 for code in recovered.values()), (
        f"not recovered 60 s after DynamoDB came back: {recovered}"
    )


def test_a_burst_cut_off_by_the_outage_never_gets_a_500(rig: Rig) -> None:
    """DynamoDB stops while writes are in flight: each answer is a success or a 503."""
    twin: Twin = rig.twin  # type: ignore[attr-defined]
    ctx = _context(twin)
    writes = [s for s in SERVED if s.kind == "write"]
    if not writes:
        pytest.skip("no write route yet")
    answers: list[int] = []
    lock = threading.Lock()
    prepared = [(writes[i % len(writes)], _build(twin, writes[i % len(writes)], ctx))
                for i in range(12)]

    def fire(scenario: Scenario, req: Req) -> None:
        code = _send(twin, scenario, ctx, req).status_code
        with lock:
            answers.append(code)

    threads = [threading.Thread(target=fire, args=pair) for pair in prepared]
    for i, thread in enumerate(threads):
        thread.start()
        if i == 5:
            rig.stop_dynamodb()
    for thread in threads:
        thread.join(180)
    rig.start_dynamodb()
    assert answers and all(code < 500 or code == 503 for code in answers), answers


# ---------------------------------------------------------------- throttling


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class Throttle:
    """Answers DynamoDB calls with ProvisionedThroughputExceededException: `fail` times out
    of every `fail + 1` attempts (calls in one thread run attempt after attempt, so each
    call is throttled exactly `fail` times before it goes through), or always."""

    def __init__(self, fail: int | None) -> None:
        self.fail = fail
        self.attempts = 0
        self.throttled = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.attempts += 1
        if self.fail is not None and self.attempts % (self.fail + 1) == 0:
            return None  # let it through
        self.throttled += 1
        # Every before-send handler runs (botocore keeps the first answer): point this
        # attempt nowhere, so that moto's own handler (in-process tests) does not carry
        # it out behind the throttle's back.
        request.url = "http://127.0.0.1:9/throttled"
        body = json.dumps({
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was "
            "exceeded.",
        }).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "x-amzn-RequestId": "throttle-test"}
        return AWSResponse(request.url, 400, headers, _Raw(body))


@contextlib.contextmanager
def throttled(fail: int | None) -> Iterator[Throttle]:
    from convene import aws as convene_aws

    throttle = Throttle(fail)
    clients = [convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client]
    for client in clients:
        client.meta.events.register_first("before-send.dynamodb", throttle)
    try:
        yield throttle
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.dynamodb", throttle)


def _invoke(scenario: Scenario, ctx: Context, req: Req | None = None) -> dict[str, Any]:
    from tests.helpers import LambdaContext, api_event, load_handler

    route = ROUTES[scenario.route]
    folder = Path(route_spec(route.function).code_dir).name
    handler = _handlers.setdefault(folder, load_handler(folder).lambda_handler)
    req = req or scenario.build(ctx)
    params = {}
    for seg, value in zip(route.path.split("/"), req.path.split("/"), strict=False):
        if seg.startswith("{"):
            params[seg.strip("{}+")] = value
    claims = None
    if route.protected:
        claims = {"sub": "organiser-sub", "cognito:groups": "organisers,moderators",
                  "email_verified": "true", "token_use": "id"}
    event = api_event(req.method, req.path, resource=route.path, path_params=params or None,
                      query=dict(req.query) or None, body=req.body, headers=req.headers,
                      claims=claims)
    event["requestContext"]["identity"]["sourceIp"] = req.source_ip or "198.51.100.9"
    return dict(handler(event, LambdaContext()))


_handlers: dict[str, Any] = {}


def route_spec(logical_id: str) -> Any:
    from infra.local import template

    return next(f for f in template.functions() if f.logical_id == logical_id)


@pytest.fixture
def seeded(aws: None) -> Iterator[Context]:
    """moto with the seed data (the twin's own seed, through the services)."""
    from infra.local import seed

    forget_clients()
    seed.seed(organiser="organiser-sub", site_url="https://community.example.org")
    yield Context(event_id=seed.PAST_EVENT_ID, post_id=seed.POST_ID, series_id=seed.SERIES_ID)
    forget_clients()


@pytest.mark.parametrize("scenario", SERVED, ids=_ids)
def test_throttled_calls_are_retried_and_the_route_answers_as_usual(
    seeded: Context, scenario: Scenario
) -> None:
    expected = _invoke(scenario, seeded)["statusCode"]  # once without throttling
    req = scenario.build(seeded)
    with throttled(fail=2) as throttle:
        answer = _invoke(scenario, seeded, req)
    if scenario.min_calls:
        assert throttle.throttled >= 2, "no DynamoDB call was throttled"
    assert answer["statusCode"] == expected, (
        f"{scenario.route}: {answer['statusCode']} under throttling, {expected} without: "
        f"{answer.get('body')}"
    )


@pytest.mark.parametrize("scenario", [s for s in SERVED if s.min_calls], ids=_ids)
def test_throttled_on_every_attempt_a_route_answers_503_with_retry_after(
    seeded: Context, scenario: Scenario
) -> None:
    req = scenario.build(seeded)
    with throttled(fail=None) as throttle:
        answer = _invoke(scenario, seeded, req)
    assert throttle.throttled >= 1
    assert answer["statusCode"] == 503, answer
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), values[-1])
    assert str(headers.get("retry-after", "")).isdigit(), answer
    assert error_shape(json.loads(answer["body"]))
