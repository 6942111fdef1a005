"""Fixtures of the proof suite (issue 8): a twin of its own, and the route catalogue.

`proof_twin` (session) is a twin started for these tests alone (`python -m infra.local up
--in-memory` on free ports), so the fuzzer's thousands of requests never disturb the data
that other integration tests read. With CONVENE_PROOF_TWIN_URL set, that twin is used
instead. Tests that use it are marked `integration`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from bench.routes import ApiRoute, api_routes
from tests.integration.twin import Twin, TwinProcess


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "proof_twin" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def proof_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    url = os.environ.get("CONVENE_PROOF_TWIN_URL")
    if url:
        yield Twin(url)
        return
    process = TwinProcess(tmp_path_factory.mktemp("proof-twin"))
    try:
        yield process.wait_ready()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def routes() -> list[ApiRoute]:
    return api_routes()


def error_shape(body: object) -> bool:
    """The one error shape: {"error": {"code", "message", "fields"}}."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (
        isinstance(error, dict)
        and {"code", "message", "fields"} <= set(error)
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["fields"], dict)
    )


@contextlib.contextmanager
def convene_against(twin: Twin) -> Iterator[None]:
    """convene's code in this process pointed at the twin's DynamoDB Local and moto, for
    scenario rows whose `build` prepares data through the services (a comment to
    moderate); restored afterwards, so unit tests keep moto."""
    saved = dict(os.environ)
    os.environ.update(twin.config["environment"])
    forget_clients()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        forget_clients()


def forget_clients() -> None:
    """convene's cached settings and clients, and Powertools' parameter providers (the
    signing secret's client): made again from the environment as it is now."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    from convene import aws as convene_aws
    from convene.settings import get_settings

    DEFAULT_PROVIDERS.clear()
    get_settings.cache_clear()
    convene_aws.reset()
