"""boto3 clients and resources, made once per execution environment and reused.

Endpoints come from the standard AWS_ENDPOINT_URL_* variables, so the same code talks to
AWS, to DynamoDB Local and to moto without a branch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

# Lambda is short-lived: fail fast and let the caller (or the stream) retry.
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@lru_cache(maxsize=None)
def dynamodb() -> Any:
    return boto3.session.Session().resource("dynamodb", config=_CONFIG)


def table(name: str) -> Any:
    return dynamodb().Table(name)


def reset() -> None:
    """Forget cached clients (tests that move endpoints between runs)."""
    client.cache_clear()
    dynamodb.cache_clear()
