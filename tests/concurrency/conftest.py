"""Fixtures for invariants under real concurrency: threads against DynamoDB Local (moto is
not built for concurrent access).

* `dynamodb_local` (session): DynamoDB Local in memory on a free port, with the tables of
  template.yaml; yields its endpoint. While a test that uses it runs, os.environ points
  convene at it (AWS_ENDPOINT_URL_DYNAMODB, dummy credentials, region) and convene's cached
  clients and settings are reset; afterwards the environment is restored, so unit tests
  that run later in the same session still talk to moto.
* `fresh_tables`: the template's tables under a stack prefix of the test's own, with the
  variables that name them (TABLE_NAME...) pointed at them. Yields {logical id: name}.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local import dynamodb as ddb
from infra.local import template

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local-secret",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.dynamodb_local)


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",
    )


def _reset_convene() -> None:
    from convene import aws as convene_aws
    from convene.settings import get_settings

    convene_aws.reset()
    get_settings.cache_clear()


# DynamoDB Local is not DynamoDB under contention. It serialises every request to a table
# on one lock, and one that waits for it more than 10 s fails with InternalServerError
# ("This action took too long waiting for a lock. This request will succeed in actual
# DynamoDB API"; LocalDBAccess.LOCK_WAIT_TIMEOUT_IN_SECONDS). With 32 threads on one event
# item and both cores busy, its calls took up to 5.3 s (p99 5.1 s over 1,002 calls, two
# other processes keeping the CPU busy): past the 5 s read_timeout convene's clients get
# for Lambda (convene/aws.py). botocore's standard retry mode tries a call 3 times, and
# its retry quota runs dry when many calls time out at once: once in CI three
# confirmations failed with ReadTimeoutError. A longer read timeout is worse: the calls
# queue into the lock timeout instead (tried: 60 s gave p99 10 s and InternalServerErrors).
#
# The claims here are about correctness (nothing lost, no invariant broken), not latency.
# So against DynamoDB Local the clients keep production's timeouts but retry as the SDKs'
# classic DynamoDB policy does (botocore's legacy mode: 10 retries, exponential backoff
# from 50 ms, no retry quota), as the service's own retry budget is lengthened for the
# same reason (test_registration_invariants.tables). Production's settings are unchanged.
EMULATOR_CLIENT: dict[str, Any] = {"retries": {"max_attempts": 10, "mode": "legacy"}}


def table_variables(names: dict[str, str]) -> dict[str, str]:
    """The function variables that name a table ({"TABLE_NAME": {"Ref": "MainTable"}}...),
    from template.yaml's Globals, pointed at `names` ({logical id: physical name})."""
    doc = template.load()
    glob = doc.get("Globals", {}).get("Function", {})
    variables = glob.get("Environment", {}).get("Variables", {})
    out = {}
    for name, value in variables.items():
        if isinstance(value, dict) and value.get("Ref") in names:
            out[name] = names[value["Ref"]]
    return out


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """DynamoDB Local on 127.0.0.1, in memory, with the template's tables (stack
    convene-local); its endpoint."""
    port = ddb.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = ddb.start_dynamodb_local(port, None)
    try:
        ddb.wait_ready(endpoint, 90, proc)
        template.create_tables(_client(endpoint))
        yield endpoint
    finally:
        ddb.stop(proc)


@pytest.fixture(autouse=True)
def _dynamodb_local_environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Points convene at DynamoDB Local for the tests that use it, and only for them."""
    if "dynamodb_local" not in request.fixturenames:
        yield
        return
    endpoint = request.getfixturevalue("dynamodb_local")
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", endpoint)
    default_names = {spec.logical_id: spec.create_args["TableName"] for spec in template.tables()}
    for name, value in table_variables(default_names).items():
        monkeypatch.setenv(name, value)
    from botocore.config import Config
    from convene import aws as convene_aws

    slow = convene_aws._DYNAMODB_CONFIG.merge(Config(**EMULATOR_CLIENT))
    monkeypatch.setattr(convene_aws, "_DYNAMODB_CONFIG", slow)
    _reset_convene()
    yield
    _reset_convene()


@pytest.fixture
def fresh_tables(dynamodb_local: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The template's tables, new for this test (stack prefix t<random>), with TABLE_NAME,
    OUTBOX_TABLE_NAME... pointed at them. Deleted afterwards."""
    client = _client(dynamodb_local)
    stack = f"t{uuid.uuid4().hex[:10]}"
    names = template.create_tables(client, stack=stack)
    for name, value in table_variables(names).items():
        monkeypatch.setenv(name, value)
    _reset_convene()
    try:
        yield names
    finally:
        for name in names.values():
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                client.delete_table(TableName=name)
        _reset_convene()
