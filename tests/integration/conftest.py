"""The `twin` fixture: HTTP tests against the offline twin.

With CONVENE_TWIN_URL set (e.g. http://127.0.0.1:3000 while `make dev` runs), tests use
that twin. Otherwise one twin is started for the session (`python -m infra.local up
--in-memory` on free ports, its data dir in tmp) and stopped at the end. Every test in this
folder is marked `integration`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.twin import Twin, TwinProcess, twin_environment

__all__ = ["twin", "twin_environment"]  # twin_environment: where it lived first

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    url = os.environ.get("CONVENE_TWIN_URL")
    if url:
        yield Twin(url)
        return
    process = TwinProcess(tmp_path_factory.mktemp("twin"))
    try:
        yield process.wait_ready()
    finally:
        process.stop()
