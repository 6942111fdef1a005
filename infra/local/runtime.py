"""Lambda execution environments, in this process.

The twin runs every function of template.yaml in the Python process that runs the twin:

* Each function has a pool of ``pool_size`` execution environments. An environment loads
  the handler module from ``<CodeUri>/<module>.py`` under a module name of its own, the
  first time it is used (a cold start), and keeps it for later invocations (warm starts).
  Two environments never share module-level state of the handler module (a Powertools
  resolver, for one, is not thread-safe), exactly as two Lambda environments don't.
* An environment serves one invocation at a time. An invocation takes a free environment
  of its function, or waits for one: ``pool_size`` is the function's concurrency.
* The layer (``shared/``, the ``convene`` package) is on ``sys.path`` and, like any module
  imported by the handler, is shared by all environments of the process. Module-level
  caches in the layer (``convene.settings.get_settings``, ``convene.aws.client``) are
  therefore process-wide: the environment variables they read must be the same for every
  function (they are: they come from the template's Globals).
* The event and the return value travel as JSON, as they do between the Lambda service
  and a function: a handler gets a fresh copy of the event, and a return value that JSON
  cannot represent is a failed invocation (Lambda's ``Runtime.MarshalError``).

Environment variables. ``os.environ`` is one per process, so it cannot hold two values of
one variable for two functions running at the same time. The ``env`` given to
:class:`Runtime` (the union of what every function needs) is applied once, before any
handler is loaded. ``per_function_env`` (``{logical id: {name: value}}``) is for the few
variables that differ between functions (``POWERTOOLS_SERVICE_NAME``): a variable whose
value is the same for every function that declares it is applied once like ``env``; a
variable whose value differs is set only while that function's handler module is being
loaded (cold starts are serialised under one lock) and restored afterwards. Code that reads
such a variable at import time (``Logger()``, ``Metrics()``) sees its own function's
value; code that reads it later, during an invocation, sees the process-wide value. That
conflict is accepted and documented rather than hidden: nothing in Convene reads such a
variable at invocation time.

Timeouts are reported, not enforced: a Python thread cannot be stopped from outside. An
invocation that runs past its function's Timeout is logged as a warning.

Nothing here logs an event, a response or an environment value: log lines carry the
function's logical id, the request id and timings only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.local.template import ROOT, FunctionSpec

log = logging.getLogger("infra.local.runtime")


class _Turns:
    """One invocation at a time in this process, requests first.

    Powertools keeps the request being routed on a class attribute
    (``BaseRouter.current_event``) that every resolver shares, and Metrics keeps one
    metric set per process: Lambda runs one invocation per process, so it never sees two
    at once; this process must not either. A plain lock is not fair, though: a stream
    pump with a backlog of emails takes it again the moment it lets go, and requests
    queue behind it for seconds. Here an API request waiting for its turn goes before
    any background invocation (a stream batch, a schedule, a topic), so a backlog costs
    a request at most the one batch already running."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._requests_waiting = 0

    @contextlib.contextmanager
    def turn(self, *, request: bool) -> Iterator[None]:
        with self._cond:
            if request:
                self._requests_waiting += 1
            try:
                while self._busy or (not request and self._requests_waiting):
                    self._cond.wait()
            finally:
                if request:
                    self._requests_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


_TURNS = _Turns()


def is_api_request(event: Any) -> bool:
    """An API Gateway proxy event (what the twin's gateway sends), not a stream batch,
    schedule or topic message."""
    return isinstance(event, dict) and "httpMethod" in event and "requestContext" in event

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-2"
DEFAULT_MEMORY_MB = 128

# Cold starts run one at a time: module imports are not worth racing, and a function's
# own environment variables are applied around them (see the module docstring).
_LOAD_LOCK = threading.RLock()


class FunctionError(Exception):
    """The function failed: its handler raised, could not be loaded, or returned something
    that is not JSON. ``logical_id`` names the function; ``error`` is the exception (also
    the ``__cause__``); ``error_type`` is what Lambda would report as ``errorType``."""

    def __init__(self, logical_id: str, error: BaseException, *, error_type: str | None = None):
        self.logical_id = logical_id
        self.error = error
        self.error_type = error_type or type(error).__name__
        super().__init__(f"{logical_id} failed: {self.error_type}")


class UnknownFunction(KeyError):
    """No function with that logical id is loaded in the runtime."""


class LambdaContext:
    """The context object a Python handler receives (the attributes Powertools and the
    handlers use), for one invocation."""

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        memory_limit_in_mb: int,
        invoked_function_arn: str,
        log_group_name: str,
        log_stream_name: str,
        timeout_s: float,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Environment:
    """One execution environment: a private copy of the handler module, loaded lazily."""

    def __init__(self, fn: _Function, index: int) -> None:
        self.fn = fn
        self.index = index
        self.handler: Any = None
        self.module: ModuleType | None = None
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_stream_name = f"{day}/[$LATEST]{uuid.uuid4().hex}"

    def ensure_loaded(self) -> bool:
        """Loads the handler module if this environment has not yet. True on a cold start."""
        if self.handler is not None:
            return False
        spec = self.fn.spec
        path = spec.code_dir / f"{spec.module}.py"
        name = f"twin_fn_{spec.logical_id}_{self.index}_{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        with _LOAD_LOCK, _patched_environ(self.fn.load_env):
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise FileNotFoundError(f"no handler module at {path}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        handler = getattr(module, spec.handler, None)
        if not callable(handler):
            sys.modules.pop(name, None)
            raise AttributeError(f"{spec.module}.{spec.handler} is not a function")
        self.module, self.handler = module, handler
        log.info(
            "cold start: %s (environment %d) in %d ms",
            spec.logical_id,
            self.index,
            round((time.monotonic() - started) * 1000),
        )
        return True

    def unload(self) -> None:
        if self.module is not None:
            sys.modules.pop(self.module.__name__, None)
        self.module = self.handler = None


class _Function:
    def __init__(
        self,
        spec: FunctionSpec,
        pool_size: int,
        load_env: Mapping[str, str],
        *,
        region: str,
        account_id: str,
        stack: str,
    ) -> None:
        self.spec = spec
        self.load_env = dict(load_env)
        self.name = f"{stack}-{spec.logical_id}"
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{self.name}"
        self.memory_mb = int(getattr(spec, "memory_size", None) or DEFAULT_MEMORY_MB)
        self.timeout_s = float(spec.timeout or 3)
        self.pool: queue.LifoQueue[_Environment] = queue.LifoQueue()
        # Last in, first out: a warm environment is reused before a cold one is started.
        for index in reversed(range(pool_size)):
            self.pool.put(_Environment(self, index))
        self.environments = list(self.pool.queue)

    def context(self, env: _Environment) -> LambdaContext:
        return LambdaContext(
            function_name=self.name,
            function_version="$LATEST",
            memory_limit_in_mb=self.memory_mb,
            invoked_function_arn=self.arn,
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=env.log_stream_name,
            timeout_s=self.timeout_s,
        )


class _patched_environ:
    """Sets some environment variables for the duration of a ``with`` block."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, old in self.saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class Runtime:
    """Runs the template's functions in this process, each in a pool of environments.

    ``functions``: the specs from ``infra.local.template.functions()``.
    ``env``: resolved environment variables for every function (applied to ``os.environ``
    once, now). ``per_function_env``: resolved variables per logical id (see the module
    docstring for how conflicts between functions are handled). ``layer_dir`` goes on
    ``sys.path`` as the Lambda layer does. ``pool_size`` is the number of environments
    (the concurrency) of each function. ``stack``, ``region`` and ``account_id`` make the
    names and ARNs the context reports (``<stack>-<logical id>``).
    """

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        env: Mapping[str, str],
        *,
        pool_size: int = 4,
        layer_dir: Path = ROOT / "shared",
        per_function_env: Mapping[str, Mapping[str, str]] | None = None,
        stack: str = "convene-local",
        region: str | None = None,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        specs = list(functions)
        region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        layer = str(Path(layer_dir).resolve())
        if layer not in sys.path:
            sys.path.insert(0, layer)
        os.environ.update({k: str(v) for k, v in env.items()})

        per_fn = {
            k: {n: str(v) for n, v in vs.items()} for k, vs in (per_function_env or {}).items()
        }
        shared, differing = _split_env(per_fn, [s.logical_id for s in specs], os.environ)
        os.environ.update(shared)

        self._functions: dict[str, _Function] = {}
        for spec in specs:
            load_env = {k: v for k, v in per_fn.get(spec.logical_id, {}).items() if k in differing}
            self._functions[spec.logical_id] = _Function(
                spec, pool_size, load_env, region=region, account_id=account_id, stack=stack
            )
        self.region = region
        self.account_id = account_id

    def function_ids(self) -> list[str]:
        """The logical ids of the functions this runtime runs, in template order."""
        return list(self._functions)

    def function_arn(self, logical_id: str) -> str:
        return self._function(logical_id).arn

    def warm_up(self, logical_ids: Iterable[str] | None = None) -> None:
        """Loads one environment of each function now (startup errors surface early)."""
        for logical_id in logical_ids or self.function_ids():
            fn = self._function(logical_id)
            env = fn.pool.get()
            try:
                env.ensure_loaded()
            finally:
                fn.pool.put(env)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invokes the function synchronously with ``event`` and returns what its handler
        returned (after a JSON round trip). Waits for a free environment of the function.
        Raises :class:`FunctionError` if the handler raised, could not be loaded, or
        returned something that is not JSON; :class:`UnknownFunction` for an unknown id."""
        fn = self._function(logical_id)
        try:
            payload = json.loads(json.dumps(event))
        except (TypeError, ValueError) as exc:
            # The caller's bug (the twin's), not the function's: say so plainly.
            raise TypeError(f"the event for {logical_id} is not JSON: {exc}") from exc

        env = fn.pool.get()
        try:
            try:
                env.ensure_loaded()
            except BaseException as exc:
                env.unload()
                log.exception("init failed: %s", logical_id)
                raise FunctionError(
                    logical_id, exc, error_type="Runtime.ImportModuleError"
                ) from exc
            context = fn.context(env)
            started = time.monotonic()
            try:
                with _TURNS.turn(request=is_api_request(payload)):
                    started = time.monotonic()  # the timeout counts from the turn
                    result = env.handler(payload, context)
            except Exception as exc:
                raise FunctionError(logical_id, exc) from exc
            except SystemExit as exc:  # the process goes on; the environment does not
                env.unload()
                raise FunctionError(logical_id, exc, error_type="Runtime.ExitError") from exc
            finally:
                elapsed = time.monotonic() - started
                if elapsed > fn.timeout_s:
                    log.warning(
                        "%s ran %d ms, past its timeout of %s s (request %s)",
                        logical_id,
                        round(elapsed * 1000),
                        fn.timeout_s,
                        context.aws_request_id,
                    )
            try:
                return json.loads(json.dumps(result))
            except (TypeError, ValueError) as exc:
                raise FunctionError(logical_id, exc, error_type="Runtime.MarshalError") from exc
        finally:
            fn.pool.put(env)

    def _function(self, logical_id: str) -> _Function:
        try:
            return self._functions[logical_id]
        except KeyError:
            raise UnknownFunction(logical_id) from None


def _split_env(
    per_fn: Mapping[str, Mapping[str, str]],
    function_ids: Iterable[str],
    base: Mapping[str, str],
) -> tuple[dict[str, str], set[str]]:
    """Per-function variables that every function would see with the same value (safe to
    set process-wide), and the names of those that differ between functions (a function
    that does not declare a variable sees the process-wide value, or none)."""
    ids = list(function_ids)
    keys = {k for variables in per_fn.values() for k in variables}
    shared: dict[str, str] = {}
    differing: set[str] = set()
    for key in keys:
        seen = {per_fn.get(fn, {}).get(key, base.get(key)) for fn in ids}
        value = next(iter(seen))
        if len(seen) == 1 and value is not None:
            shared[key] = value
        else:
            differing.add(key)
    return shared, differing
