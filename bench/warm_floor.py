"""The warm stack floor: what one request costs on the stack the design requires, with no
AWS call and none of Convene's code.

A handler made of Powertools' Logger (`inject_lambda_context` with the REST correlation
path), Tracer (`capture_lambda_handler`, and `capture_method` on the route) and Metrics
(`log_metrics`) decorators around the REST resolver with validation and CORS, and one
route that takes a validated JSON body and returns a response model: the shape of every
Convene route, minus the route's own work. The warm section times one floor request after
each handler request and its replay, in the bench process, with the handlers' environment
(the twin's: Tracer and metrics output off), on an API Gateway event built as it builds
its events.

A route whose DynamoDB calls take R ms (replayed) cannot measure less than (R + floor) / R
on this stack, however little its own code does: that is the "least on this stack"
column of RESULTS.md. To reach a warm ratio of T, the calls must take at least
floor / (T - 1).

Its Logger has a service name of its own, so it shares no logging handler with Convene's;
its Tracer and Metrics take their settings from the environment, as each handler's do
(Powertools shares those settings between instances; the bench process already holds
every handler). Its log lines go where the handlers' go, to /dev/null.
"""

# No `from __future__ import annotations`: the route below is defined in a function, and
# Powertools reads its parameters' types from the annotations, which must be objects.

import copy
import json
import statistics
import time
from typing import Annotated, Any, Literal

WARMUP = 200


def _handler() -> Any:
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
    from aws_lambda_powertools.event_handler.openapi.params import Body
    from aws_lambda_powertools.logging import correlation_paths
    from pydantic import BaseModel, ConfigDict, Field

    logger = Logger(service="bench-warm-floor")
    tracer, metrics = Tracer(patch_modules=("botocore",)), Metrics()
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(allow_origin="https://example.org", max_age=600),
    )

    class ItemIn(BaseModel):
        model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
        kind: Literal["domain", "word"]
        value: Annotated[str, Field(min_length=1, max_length=200)]

    class ItemOut(BaseModel):
        kind: str
        value: str
        created_at: str

    @app.put("/items")
    @tracer.capture_method
    def put_item(item: Annotated[ItemIn, Body()]) -> ItemOut:
        return ItemOut(kind=item.kind, value=item.value, created_at="2026-11-29T12:00:00Z")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


def _event() -> dict[str, Any]:
    from tests.helpers import api_event

    return api_event(
        "PUT",
        "/items",
        body=json.dumps({"kind": "domain", "value": "example.net"}),
        headers={"User-Agent": "convene-bench"},
    )


class Floor:
    """The floor handler, built once, timed one request at a time: the warm section times
    one floor request after each handler request, so the floor runs in the conditions the
    handlers run in (the same process, caches shared with their code, the emulator busy
    after each call). Timed in a loop of its own it is several times faster, since its
    small working set then stays hot; `isolated` measures that, for comparison only."""

    def __init__(self) -> None:
        from tests.helpers import LambdaContext

        self._context = LambdaContext
        self._handler = _handler()
        self._event = _event()  # read from events/ once; each request gets its own copy

    def time(self) -> float:
        """Seconds for one request through the floor handler."""
        event, context = copy.deepcopy(self._event), self._context()
        started = time.perf_counter()
        answer = self._handler(event, context)
        spent = time.perf_counter() - started
        if answer.get("statusCode") != 200:
            raise RuntimeError(f"the floor's route answered {answer.get('statusCode')}")
        return spent

    def isolated(self, samples: int = 1000) -> float:
        """Seconds a request, median of `samples` timed back to back."""
        for _ in range(WARMUP):
            self.time()
        return statistics.median(self.time() for _ in range(samples))


WHAT = (
    "Powertools Logger, Tracer and Metrics decorators, the REST resolver with validation "
    "and CORS, one validated JSON body and a response model; no AWS call, no Convene code"
)


def least_ratio(replay_ms: float | None, floor_ms: float | None) -> float | None:
    """The least warm ratio a route whose calls take `replay_ms` can have on this stack."""
    if not replay_ms or floor_ms is None:
        return None
    return round((replay_ms + floor_ms) / replay_ms, 3)
