"""Retried writes answer the same: Powertools idempotency on the IdempotencyTable, keyed
on the route, the caller, the Idempotency-Key header and the body.

A browser (or a flaky network) may send a POST twice. With the same Idempotency-Key and
the same body, the second answer is the first one replayed, and nothing happens twice
(no second registration, no second email). Without the header a route runs as usual;
its own rules (one registration per person) still hold.

    answer = idempotency.once("register", key, body, caller, compute)

`compute` returns a JSON-able dict (the route's status and body); an error it raises is
not remembered, so a retry after an error runs again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from convene.aws import client
from convene.errors import Conflict
from convene.settings import get_settings

REMEMBER_FOR_SECONDS = 24 * 3600
WAIT_ATTEMPTS = 20
WAIT_SECONDS = 0.1
MAX_KEY_CHARS = 200


def _store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table_name, boto3_client=client("dynamodb")
    )


def once(
    route: str,
    key: str,
    body: str | None,
    caller: str | None,
    compute: Callable[[], dict[str, Any]],
    *,
    context: Any = None,
) -> dict[str, Any]:
    """The answer of the first request with this key and body (computing it if none).
    `context`: the Lambda context, so a request that times out does not block its key."""
    config = IdempotencyConfig(
        event_key_jmespath="[route, key, body, caller]",
        expires_after_seconds=REMEMBER_FOR_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    if context is not None:
        config.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=_store(),
        config=config,
        key_prefix=f"convene#{route}",
    )
    def run(request: dict[str, Any]) -> dict[str, Any]:
        return compute()

    request = {"route": route, "key": key[:MAX_KEY_CHARS], "body": body or "", "caller": caller}
    # A double click arrives while the first request is still running: wait for its answer
    # (briefly) rather than refuse the second one.
    for _ in range(WAIT_ATTEMPTS):
        try:
            answer: dict[str, Any] = run(request=request)
        except IdempotencyAlreadyInProgressError:
            time.sleep(WAIT_SECONDS * (1 + random.random()))
            continue
        return answer
    raise Conflict(
        "The same request is still being handled; try again in a moment.",
        code="request_in_progress",
        headers={"Retry-After": "1"},
    )
