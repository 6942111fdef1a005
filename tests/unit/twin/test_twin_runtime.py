"""The runtime: handlers in pools of execution environments, as Lambda runs them."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.local import template
from infra.local.runtime import FunctionError, Runtime, UnknownFunction
from tests.unit.twin.fixtures import recorder


def test_a_handler_gets_the_event_and_a_lambda_context(runtime: Runtime) -> None:
    answer = runtime.invoke("EchoFunction", {"action": "hello", "n": 1})

    assert answer["event"] == {"action": "hello", "n": 1}
    ctx = answer["context"]
    assert ctx["function_name"] == "convene-local-EchoFunction"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == (
        "arn:aws:lambda:eu-west-2:123456789012:function:convene-local-EchoFunction"
    )
    assert ctx["log_group_name"] == "/aws/lambda/convene-local-EchoFunction"
    assert ctx["log_stream_name"]
    assert len(ctx["aws_request_id"]) == 36
    assert 0 < ctx["remaining_ms"] <= 5000  # the fixture's Timeout is 5 s


def test_a_warm_environment_is_reused_and_keeps_its_module_state(runtime: Runtime) -> None:
    first = runtime.invoke("EchoFunction", {"action": "count"})
    second = runtime.invoke("EchoFunction", {"action": "count"})

    assert second["module"] == first["module"]
    assert second["invocations"] == first["invocations"] + 1


def test_concurrent_invocations_run_one_at_a_time_in_separate_environments(
    runtime: Runtime,
) -> None:
    # Powertools keeps the routed request on a class attribute shared by every resolver in
    # a process, so the twin never runs two handlers at once: two invocations that wait
    # for each other inside the handler never meet (the barrier breaks), and each ran in
    # an environment of its own (no shared resolver instance).
    recorder.barrier = threading.Barrier(2, timeout=0.5)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(runtime.invoke, "EchoFunction", {"action": "rendezvous"}) for _ in range(2)
        ]
        errors = [f.exception() for f in futures]
    assert all(isinstance(e, FunctionError) for e in errors)

    recorder.barrier = None
    with ThreadPoolExecutor(2) as pool:
        modules = set(pool.map(lambda _: runtime.invoke("EchoFunction", {})["module"], range(8)))
    assert modules  # environments are reused; each answer names the module that served it


def test_an_invocation_waits_for_a_free_environment_when_all_are_busy(doc: dict) -> None:
    single = Runtime(
        [f for f in template.functions(doc) if f.logical_id == "EchoFunction"], {}, pool_size=1
    )
    # With one environment the second invocation cannot start while the first waits at
    # the barrier, so the barrier breaks (timeout) instead of being passed.
    recorder.barrier = threading.Barrier(2, timeout=0.5)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(single.invoke, "EchoFunction", {"action": "rendezvous"}) for _ in range(2)
        ]
        errors = [f.exception() for f in futures]

    assert all(isinstance(e, FunctionError) for e in errors)


def test_a_variable_that_differs_between_functions_is_set_while_its_module_loads(
    runtime: Runtime,
) -> None:
    answer = runtime.invoke("EchoFunction", {"action": "env"})

    assert answer["name_at_import"] == "echo"
    assert "ECHO_NAME" not in os.environ  # it would be wrong for every other function


def test_a_raising_handler_is_a_function_error_naming_the_function(runtime: Runtime) -> None:
    with pytest.raises(FunctionError) as caught:
        runtime.invoke("EchoFunction", {"action": "boom"})

    assert caught.value.logical_id == "EchoFunction"
    assert isinstance(caught.value.error, RuntimeError)
    assert caught.value.error_type == "RuntimeError"


def test_an_answer_that_is_not_json_is_a_marshal_error(runtime: Runtime) -> None:
    with pytest.raises(FunctionError) as caught:
        runtime.invoke("EchoFunction", {"action": "not-json"})

    assert caught.value.error_type == "Runtime.MarshalError"


def test_a_handler_returning_nothing_returns_none(runtime: Runtime) -> None:
    assert runtime.invoke("ConsumerFunction", {"Records": []}) is None


def test_an_unknown_function_is_refused(runtime: Runtime) -> None:
    with pytest.raises(UnknownFunction):
        runtime.invoke("NoSuchFunction", {})
    assert "EchoFunction" in runtime.function_ids()


def test_one_functions_own_value_never_replaces_the_process_wide_one(
    doc: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_LOG_LEVEL", "INFO")
    monkeypatch.setenv("TWIN_SAME", "old")
    Runtime(
        template.functions(doc),
        {"TWIN_LOG_LEVEL": "INFO"},
        per_function_env={fn.logical_id: {"TWIN_SAME": "same"} for fn in template.functions(doc)}
        | {"EchoFunction": {"TWIN_SAME": "same", "TWIN_LOG_LEVEL": "DEBUG"}},
    )

    assert os.environ["TWIN_LOG_LEVEL"] == "INFO"
    assert os.environ["TWIN_SAME"] == "same"  # every function agrees: set once


def test_a_waiting_request_goes_before_waiting_background_work() -> None:
    """A backlog on a stream must not keep API requests waiting: when the batch that
    runs lets go, a request waiting for its turn runs before the next batch."""
    from infra.local.runtime import _Turns

    turns = _Turns()
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def first_batch() -> None:
        with turns.turn(request=False):
            holding.set()
            release.wait(5)
            order.append("batch 1")

    def waiter(name: str, request: bool, started: threading.Event) -> None:
        started.set()
        with turns.turn(request=request):
            order.append(name)

    threads = [threading.Thread(target=first_batch)]
    threads[0].start()
    assert holding.wait(5)
    for name, request in [("batch 2", False), ("batch 3", False), ("request", True)]:
        started = threading.Event()
        t = threading.Thread(target=waiter, args=(name, request, started))
        t.start()
        assert started.wait(5)
        threads.append(t)
    # Every waiter is blocked on the turn (the first batch still holds it).
    deadline = time.monotonic() + 5
    while turns._requests_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for t in threads:
        t.join(5)

    assert order[:2] == ["batch 1", "request"]
    assert sorted(order[2:]) == ["batch 2", "batch 3"]


def test_only_an_api_gateway_event_counts_as_a_request() -> None:
    from infra.local.runtime import is_api_request

    assert is_api_request({"httpMethod": "GET", "requestContext": {}, "path": "/events"})
    assert not is_api_request({"Records": [{"eventSource": "aws:dynamodb"}]})
    assert not is_api_request({"source": "aws.scheduler"})
