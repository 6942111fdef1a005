"""Handlers called in this process, against a running twin's DynamoDB Local and moto.

The bench process takes the functions' environment from the twin (`/_local/config`),
loads each handler module from its file as the twin's runtime does, and calls
`lambda_handler` with API Gateway REST proxy events. That times the handler alone (no
HTTP, no gateway), and lets botocore event hooks on convene's clients see every call:

* `before-parameter-build` (registered last, after boto3's own serialisation of resource
  calls) records each call's operation and parameters, and can ask for
  `ReturnConsumedCapacity=TOTAL`;
* `after-call` records the capacity DynamoDB says each call consumed.

Replaying the recorded calls on a plain boto3 client (the same configuration, the same
endpoint) is the floor a handler's time is compared with.

A write replayed on the state the handler left is not the same work: a DeleteItem finds
nothing to delete, a conditional PutItem fails its condition, a PutItem rewrites an
identical item, so DynamoDB (Local) skips the index and stream work the handler's write
paid for, and an ADD is applied twice. With `exact_replay` on, the harness reads each item
a write is about to change (outside the timing: the read is the harness's bookkeeping,
taken off the handler's time) and `replay` puts those items back as they were before the
handler ran, untimed, so the replayed calls make the same changes the handler's did.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.routes import ApiRoute
from bench.scenarios import Req

ROOT = Path(__file__).resolve().parents[1]
CAPACITY_OPS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    capacity: float = 0.0
    error: str | None = None


# (table, the key as sorted JSON) -> (the key, the item before the first write; None: absent)
Before = dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]]


class Writes:
    """The items DynamoDB write calls are about to change, read as they are, and put back.

    On a low-level client (items in DynamoDB's JSON), against the same tables."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._key_names: dict[str, list[str]] = {}

    def key_names(self, table: str) -> list[str]:
        if table not in self._key_names:
            described = self.client.describe_table(TableName=table)["Table"]
            self._key_names[table] = [k["AttributeName"] for k in described["KeySchema"]]
        return self._key_names[table]

    def keys(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(table, key) of every item a call may change; [] for a read."""

        def of(table: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            if "Key" in spec:
                return table, dict(spec["Key"])
            return table, {name: spec["Item"][name] for name in self.key_names(table)}

        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return [of(params["TableName"], params)]
        if operation == "TransactWriteItems":
            return [
                of(spec["TableName"], spec)
                for entry in params.get("TransactItems", [])
                for kind, spec in entry.items()
                if kind in ("Put", "Update", "Delete")  # a ConditionCheck changes nothing
            ]
        if operation == "BatchWriteItem":
            return [
                of(table, request.get("PutRequest") or request["DeleteRequest"])
                for table, requests in params.get("RequestItems", {}).items()
                for request in requests
            ]
        return []

    def snapshot(self, operation: str, params: dict[str, Any], before: Before) -> None:
        """Adds to `before` each item this call may change, unless a write earlier in the
        same request already did: the first one saw it as it was when the request began."""
        for table, key in self.keys(operation, params):
            ident = (table, json.dumps(key, sort_keys=True))
            if ident not in before:
                got = self.client.get_item(TableName=table, Key=key, ConsistentRead=True)
                before[ident] = (key, got.get("Item"))

    def restore(self, before: Before) -> None:
        """Puts each item back as it was (deletes it if it was not there)."""
        for (table, _), (key, item) in before.items():
            if item is None:
                self.client.delete_item(TableName=table, Key=key)
            else:
                self.client.put_item(TableName=table, Item=item)


@dataclass
class Invocation:
    status: int
    body: str
    seconds: float
    calls: list[Call] = field(default_factory=list)
    # Of `seconds`, the time inside DynamoDB calls (botocore's before-call to after-call:
    # serialising, signing, the round trip, retries, parsing). The rest is the handler's
    # own Python: Powertools, validation, Convene's code.
    in_calls: float = 0.0
    # The harness's own recording time, already taken off `seconds` (and off `in_calls`
    # where it ran inside a call).
    bookkeeping: float = 0.0
    # With `exact_replay`: each item a write changed, as it was before the handler ran.
    before: Before = field(default_factory=dict)


class _Null(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


class Harness:
    def __init__(self, config: dict[str, Any], log: Any = print) -> None:
        from infra.local import template

        self.config = config
        self.log = log
        env = dict(config["environment"])
        os.environ.update(env)
        for path in (str(ROOT / "shared"), str(ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        from convene import aws as convene_aws
        from convene.settings import get_settings

        get_settings.cache_clear()
        convene_aws.reset()
        self.functions = {f.logical_id: f for f in template.functions()}
        self._handlers: dict[str, Any] = {}
        self._claims: dict[str, dict[str, str]] = {}
        self._local = threading.local()
        self.want_capacity = False
        # Read what each write is about to change, so the replay can start from the same
        # state (the warm and scale sections; see the module's docstring).
        self.exact_replay = False
        self._writes: Writes | None = None
        self._hooked: set[int] = set()

    # ------------------------------------------------------------ hooks

    def _hook(self) -> None:
        from convene import aws as convene_aws

        for client in (convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client):
            if id(client) in self._hooked:
                continue
            self._hooked.add(id(client))
            client.meta.events.register_last("before-parameter-build.dynamodb", self._before)
            client.meta.events.register_last("after-call.dynamodb", self._after)
            client.meta.events.register_last("after-call-error.dynamodb", self._error)
            client.meta.events.register_first("before-call.dynamodb", self._clock_in)
            client.meta.events.register_last("after-call.dynamodb", self._clock_out)
            client.meta.events.register_last("after-call-error.dynamodb", self._clock_out)

    def _calls(self) -> list[Call] | None:
        return getattr(self._local, "calls", None)

    def _clock_in(self, **_: Any) -> None:
        if self._calls() is not None:
            self._local.call_started = time.perf_counter()

    def _clock_out(self, **_: Any) -> None:
        started = getattr(self._local, "call_started", None)
        if started is not None and self._calls() is not None:
            self._local.in_calls += time.perf_counter() - started
            self._local.call_started = None

    # The recording hooks' own time (a deep copy of each call's parameters, reading the
    # capacity) is the harness's, not the handler's: it is taken off the handler's time,
    # and for the hooks that run inside a call's window, off the time in calls too. The
    # replay runs on a client without hooks, so otherwise only one side would carry it.

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        calls = self._calls()
        if calls is None:
            return
        started = time.perf_counter()
        calls.append(Call("dynamodb", model.name, copy.deepcopy(params)))
        if self.want_capacity and model.name in CAPACITY_OPS:
            params["ReturnConsumedCapacity"] = "TOTAL"
        if self.exact_replay:
            self.writes().snapshot(model.name, params, self._local.before)
        self._local.bookkeeping += time.perf_counter() - started  # before the call's window

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        calls = self._calls()
        if not calls:
            return
        started = time.perf_counter()
        consumed = parsed.get("ConsumedCapacity")
        items = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        calls[-1].capacity += sum(float(c.get("CapacityUnits", 0) or 0) for c in items)
        spent = time.perf_counter() - started
        self._local.bookkeeping += spent
        self._local.bookkeeping_in_calls += spent  # inside the window (before _clock_out)

    def _error(self, exception: Any = None, model: Any = None, **_: Any) -> None:
        calls = self._calls()
        if calls:
            calls[-1].error = type(exception).__name__ if exception else "error"

    # ------------------------------------------------------------ writes, before and after

    def writes(self) -> Writes:
        if self._writes is None:
            self._writes = Writes(self.plain_client())
        return self._writes

    @contextlib.contextmanager
    def exact(self) -> Any:
        """Within: record each write's items as they were, for `replay` to put back."""
        self.exact_replay = True
        try:
            yield self
        finally:
            self.exact_replay = False

    # ------------------------------------------------------------ handlers and events

    def handler(self, logical_id: str) -> Any:
        if logical_id not in self._handlers:
            spec = self.functions[logical_id]
            path = spec.code_dir / f"{spec.module}.py"
            name = f"bench_fn_{logical_id}_{uuid.uuid4().hex[:6]}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            assert module_spec and module_spec.loader
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            saved = os.environ.get("POWERTOOLS_SERVICE_NAME")
            service = spec.environment.get("POWERTOOLS_SERVICE_NAME")
            if isinstance(service, str):
                os.environ["POWERTOOLS_SERVICE_NAME"] = service
            try:
                module_spec.loader.exec_module(module)
            finally:
                if saved is not None:
                    os.environ["POWERTOOLS_SERVICE_NAME"] = saved
            self._handlers[logical_id] = getattr(module, spec.handler)
        self._hook()
        return self._handlers[logical_id]

    def claims(self, role: str) -> dict[str, str]:
        if role not in self._claims:
            import jwt

            from infra.local.aws_twin import id_token
            from infra.local.gateway import authorizer_claims

            user = next(u for u in self.config["users"] if u["role"] == role)
            token = id_token(
                self.config["moto_endpoint"],
                self.config["client_id"],
                user["email"],
                user["password"],
                region=self.config["region"],
            )
            self._claims[role] = authorizer_claims(
                jwt.decode(token, options={"verify_signature": False})
            )
        return self._claims[role]

    def event(self, route: ApiRoute, req: Req, role: str | None) -> dict[str, Any]:
        from tests.helpers import api_event

        path = urlsplit(req.path).path
        params = {}
        for template_seg, seg in zip(route.path.split("/"), path.split("/"), strict=False):
            if template_seg.startswith("{"):
                params[template_seg.strip("{}+")] = seg
        event = api_event(
            req.method,
            path,
            resource=route.path,
            path_params=params or None,
            query={k: v for k, v in req.query.items()} or None,
            body=req.body,
            headers={"User-Agent": "convene-bench", **req.headers},
            claims=self.claims(role) if role and route.protected else None,
        )
        if req.body is None:
            event["body"] = None
        event["requestContext"]["identity"]["sourceIp"] = req.source_ip or "198.51.100.7"
        event["requestContext"]["requestTimeEpoch"] = int(time.time() * 1000)
        return event

    def invoke(self, route: ApiRoute, req: Req, role: str | None) -> Invocation:
        from tests.helpers import LambdaContext

        handler = self.handler(route.function)
        event = self.event(route, req, role)
        self._local.calls = []
        self._local.in_calls = 0.0
        self._local.call_started = None
        self._local.bookkeeping = 0.0
        self._local.bookkeeping_in_calls = 0.0
        self._local.before = {}
        stdout = sys.stdout
        sys.stdout = _Null()  # Powertools logs and metrics: written, not shown
        try:
            started = time.perf_counter()
            result = handler(event, LambdaContext())
            seconds = time.perf_counter() - started
        finally:
            sys.stdout = stdout
            calls, self._local.calls = self._local.calls, None
        return Invocation(
            int(result.get("statusCode", 0)),
            str(result.get("body") or ""),
            seconds - self._local.bookkeeping,
            calls,
            in_calls=self._local.in_calls - self._local.bookkeeping_in_calls,
            bookkeeping=self._local.bookkeeping,
            before=self._local.before,
        )

    # ------------------------------------------------------------ the floor

    def replay(self, calls: list[Call], before: Before | None = None) -> float:
        """The same calls on a plain client, one after the other: seconds. Given `before`
        (an invocation's items as they were before its writes), those items are put back
        first, outside the timing, so each write makes the change the handler's made."""
        client = self.plain_client()
        from botocore import xform_name
        from botocore.exceptions import ClientError

        if before:
            self.writes().restore(before)
        started = time.perf_counter()
        for call in calls:
            params = {k: v for k, v in call.params.items() if k != "ReturnConsumedCapacity"}
            # A conditional write that already happened fails: the round trip still counts.
            with contextlib.suppress(ClientError):
                getattr(client, xform_name(call.operation))(**params)
        return time.perf_counter() - started

    def plain_client(self) -> Any:
        """A DynamoDB client with the handlers' configuration and no hooks.

        The same `Config` as convene's DynamoDB clients (`convene.aws._config`), so the
        replay skips botocore's parameter validation as the handlers do: a replay that
        paid it would flatter the handlers by 0.1-0.3 ms a call."""
        if not hasattr(self, "_plain_client"):
            import boto3
            from convene.aws import _config

            self._plain_client = boto3.session.Session().client(
                "dynamodb", config=_config("dynamodb")
            )
        return self._plain_client


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
