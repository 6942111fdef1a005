"""boto3 clients and resources, made once per execution environment and reused.

Endpoints come from the standard AWS_ENDPOINT_URL_* variables, so the same code talks to
AWS, to DynamoDB Local and to moto without a branch.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache, lru_cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

# Lambda is short-lived: fail fast and let the caller (or the stream) retry.
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)
# DynamoDB is on every request path, often several calls a request. botocore's check of
# each call's parameters against the service model (0.1-0.3 ms a call, a walk of the
# shapes) repeats what DynamoDB itself checks: convene builds those parameters in code, not
# from input, and a mistake still comes back as a ValidationException. botocore documents
# the switch as a performance setting (docs/performance.md, "Warm requests").
_DYNAMODB_CONFIG = _CONFIG.merge(Config(parameter_validation=False))


def _config(service: str) -> Config:
    return _DYNAMODB_CONFIG if service == "dynamodb" else _CONFIG


# ---------------------------------------------------------------- the Scan guard
# "No Scan on any request path" (docs/conventions.md). With CONVENE_FORBID_SCAN=1 (the test
# suite and the twins it starts set it), every client made here refuses a Scan: the call
# raises ScanForbidden, is counted, and leaves an ERROR line with SCAN_MARKER in the log,
# which the suite looks for in the twins' output.

SCAN_MARKER = "CONVENE-SCAN-FORBIDDEN"
_scan_lock = threading.Lock()
_scans: list[str] = []
_log = logging.getLogger("convene.aws")


class ScanForbidden(RuntimeError):
    """convene's code issued a DynamoDB Scan while CONVENE_FORBID_SCAN=1."""


def scan_calls() -> list[str]:
    """The tables Scan was called on in this process while the guard was on."""
    with _scan_lock:
        return list(_scans)


def reset_scan_calls() -> None:
    """Forget the Scans counted so far (a test of the guard itself)."""
    with _scan_lock:
        _scans.clear()


def _refuse_scan(params: Any = None, **_: Any) -> None:
    table = str((params or {}).get("TableName", "?"))
    with _scan_lock:
        _scans.append(table)
    _log.error("%s: Scan on table %s from convene code", SCAN_MARKER, table)
    raise ScanForbidden(f"Scan on {table}: convene's code must never Scan (docs/conventions.md)")


def _guard(boto_client: Any) -> Any:
    if os.environ.get("CONVENE_FORBID_SCAN") == "1":
        boto_client.meta.events.register("before-parameter-build.dynamodb.Scan", _refuse_scan)
    return boto_client


@lru_cache(maxsize=1)
def _loader() -> Any:
    # Reading botocore's service models is the slow part of making a client; one loader
    # per process keeps that cost to the first client, however often clients are remade.
    return botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.session.Session(botocore_session=core)


@cache
def client(service: str) -> Any:
    made = _session().client(service, config=_config(service))
    return _guard(made)


@cache
def dynamodb() -> Any:
    resource = _session().resource("dynamodb", config=_config("dynamodb"))
    _guard(resource.meta.client)
    return resource


@cache
def table(name: str) -> Any:
    # Made once per name: building a Table resource runs boto3's resource factory (new
    # classes, a shape walk), which cost more than the GetItem it was made for. Convene
    # only calls its actions (no load/reload), which keep no state on the object.
    return dynamodb().Table(name)


def reset() -> None:
    """Forget cached clients (tests that move endpoints between runs)."""
    client.cache_clear()
    dynamodb.cache_clear()
    table.cache_clear()
