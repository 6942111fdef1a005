"""Cold start, per handler: a fresh Python process that imports the handler module and makes
its first client, over a fresh process that only does `import boto3` and makes one client.

Each run is its own interpreter (`python -c`), so nothing is cached in memory; the two
kinds alternate (baseline, handler, baseline, handler...) so that a slow moment of the
machine hits both alike. The time is measured inside the process, from the first line of
the script to the first client (the interpreter's own start-up is the same for both and
is reported apart). The handler process sees the function's environment as the template
resolves it (names of tables, the pool, the secret: `infra.local.env` with its defaults)
and dummy credentials; nothing is called over the network.

A third process, the stack floor, imports only what the design requires of a handler of
that kind before any of Convene's code: Powertools Logger, Metrics and Tracer (botocore
patched), one pydantic model, and for an API handler the REST resolver with validation and
one validated route (with Powertools idempotency, or its batch processor for a stream,
where the handler uses them), then makes the same client. floor / baseline is the best
any handler on this stack can do; handler / floor is the share of Convene's own code.
The three alternate.

`-X importtime` of one extra handler run says what the handler imports at init.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import time, json
t0 = time.perf_counter()
import boto3
client = boto3.client({service!r})
print(json.dumps({{"init_s": time.perf_counter() - t0}}))
"""

HANDLER = """
import time, json, sys
t0 = time.perf_counter()
sys.path[:0] = [{shared!r}, {code_dir!r}]
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
t1 = time.perf_counter()
from convene import aws
aws.client({service!r})
print(json.dumps({{"init_s": time.perf_counter() - t0, "import_s": t1 - t0}}))
"""

# The stack floor: {api}, {idempotency} and {batch} are filled with the pieces below
# or with nothing (floor_code).
FLOOR = """
import time, json
t0 = time.perf_counter()
from typing import Annotated
from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel, Field
logger, tracer, metrics = Logger(), Tracer(patch_modules=("botocore",)), Metrics()
class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
{api}
{idempotency}
{batch}
import boto3
client = boto3.client({service!r})
print(json.dumps({{"init_s": time.perf_counter() - t0}}))
"""

FLOOR_API = """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
app = APIGatewayRestResolver(enable_validation=True)
@app.post("/items")
def create(item: Annotated[Item, Body()]) -> Item:
    return item
"""

FLOOR_IDEMPOTENCY = (
    "from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer"
)

FLOOR_BATCH = (
    "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType\n"
    "processor = BatchProcessor(event_type=EventType.DynamoDBStreams)"
)


def floor_code(source: str, service: str) -> tuple[str, str]:
    """The floor script for a handler, from what its module uses: (kind, code)."""
    api = "make_resolver()" in source
    idem = "from convene import idempotency" in source
    batch = "BatchProcessor(" in source
    kind = ("api" if api else "worker") + (" + idempotency" if idem else "") + (
        " + batch" if batch else "")
    code = FLOOR.format(api=FLOOR_API if api else "",
                        idempotency=FLOOR_IDEMPOTENCY if idem else "",
                        batch=FLOOR_BATCH if batch else "", service=service)
    return kind, code


# The client each handler makes first, and so the one the baseline makes: Notifications
# sends mail (issue 3 names `boto3.client("sesv2")` as its baseline); the others read
# and write DynamoDB.
FIRST_CLIENT = {"NotificationsFunction": "sesv2"}


def lambda_runtime_env(spec: Any) -> dict[str, str]:
    """What the Lambda runtime sets in a function's environment (both processes get it).
    It matters: libraries behave as they do on Lambda. The X-Ray SDK, for one, samples
    locally on Lambda, but elsewhere builds a client for centralised sampling at import."""
    memory = str(getattr(spec, "memory", None) or 512)
    return {
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"convene-{spec.logical_id}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/convene-{spec.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/28/[$LATEST]bench",
        "_HANDLER": f"{spec.module}.lambda_handler",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    }


def function_env(logical_id: str) -> dict[str, str]:
    """The function's variables as template.yaml resolves them, offline."""
    from infra.local.env import function_environment

    return function_environment(logical_id)


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
    )
    return env


def _run(code: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, *extra, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    result = dict(json.loads(line))
    result["stderr"] = out.stderr
    return result


def interpreter_start(env: dict[str, str], runs: int = 5) -> float:
    import time

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=60)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def top_imports(stderr: str, limit: int = 12) -> list[dict[str, Any]]:
    """Import time by top-level package (the sum of each module's own time), from
    `-X importtime`: what the handler's init spends its time on."""
    totals: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.removeprefix("import time:").split("|")
        if len(parts) < 3:
            continue
        try:
            own = int(parts[0].strip())
        except ValueError:
            continue
        top = parts[2].strip().split(".")[0]
        totals[top] = totals.get(top, 0) + own
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    return [{"package": k, "ms": round(v / 1000, 1)} for k, v in ranked]


WHY = {
    "aws_lambda_powertools": "Logger, Metrics, Tracer and the REST resolver with validation",
    "boto3": "the AWS SDK: the first client",
    "botocore": "the AWS SDK core (models, endpoints)",
    "pydantic": "request and response models (validation, OpenAPI)",
    "pydantic_core": "pydantic's compiled core",
    "convene": "the layer: settings, errors, the capability's services",
    "jwt": "verifies optional member tokens on public routes",
    "cryptography": "RSA for token signatures (through PyJWT)",
    "aws_xray_sdk": "Tracer (the X-Ray SDK; patches botocore only)",
    "jinja2": "email templates",
    "icalendar": "calendar files",
    "nh3": "sanitises comment HTML",
    "markdown_it": "renders comment text",
    "email": "MIME messages",
    "typing_extensions": "typing backports used by pydantic",
    "json": "standard library",
    "annotated_types": "pydantic constraints",
    "dateutil": "date parsing (botocore)",
    "urllib3": "HTTP (botocore)",
    "asyncio": "imported by Powertools' event_handler package (its AppSync resolver)",
    "multiprocessing": "imported by boto3 itself (s3transfer), also in the baseline",
    "_posixshmem": "multiprocessing's shared memory, through boto3's s3transfer",
    "s3transfer": "boto3's transfer manager, imported by boto3 itself",
    "yaml": "PyYAML",
    "markupsafe": "jinja2's escaping",
    "zoneinfo": "event time zones",
    "uuid": "ids",
    "http": "standard library (urllib3)",
    "ssl": "TLS for the AWS endpoints (also in the baseline)",
}


def measure(functions: list[Any], runs: int = 7, log: Any = print) -> dict[str, Any]:
    """{handler: {...}} for every function of the template."""
    base_env = _base_env()
    # Lambda runs the bytecode `make build` compiles (infra/precompile.py); the libraries
    # here have pip's. Without this, a stale or missing .pyc of Convene's own code (as on
    # a machine with PYTHONDONTWRITEBYTECODE=1) is compiled in every handler run, a cost
    # the deployed function does not pay.
    from infra import precompile

    compiled = all(precompile.compile_tree(ROOT / d) for d in ("shared/convene", "functions"))
    results: dict[str, Any] = {
        "method": (
            "in-process time from the script's first line to the first client; fresh "
            f"interpreter per run; median of {runs} runs each, baseline, stack floor and "
            "handler alternated; all three with the environment the Lambda runtime sets"
        ),
        "runs": runs,
        "bytecode": (
            "Convene's own modules run from checked-hash bytecode, as `make build` "
            "compiles them for Lambda" if compiled else "compiling Convene's modules failed"
        ),
        "interpreter_start_s": round(interpreter_start(base_env), 4),
        "handlers": {},
    }
    for spec in functions:
        path = spec.code_dir / f"{spec.module}.py"
        runtime = lambda_runtime_env(spec)
        service = FIRST_CLIENT.get(spec.logical_id, "dynamodb")
        baseline_env = {**base_env, **runtime}
        env = {**base_env, **runtime, **function_env(spec.logical_id)}
        baseline = BASELINE.format(service=service)
        code = HANDLER.format(shared=str(ROOT / "shared"), code_dir=str(spec.code_dir),
                              path=str(path), service=service)
        floor_kind, floor = floor_code(path.read_text(), service)
        base_times: list[float] = []
        floor_times: list[float] = []
        handler_times: list[float] = []
        import_times: list[float] = []
        try:
            for _ in range(runs):
                base_times.append(_run(baseline, baseline_env)["init_s"])
                floor_times.append(_run(floor, env)["init_s"])
                got = _run(code, env)
                handler_times.append(got["init_s"])
                import_times.append(got["import_s"])
            traced = _run(code, env, ("-X", "importtime"))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            results["handlers"][spec.logical_id] = {"error": str(exc)}
            log(f"  cold start {spec.logical_id}: error {exc}")
            continue
        base = statistics.median(base_times)
        stack = statistics.median(floor_times)
        handler = statistics.median(handler_times)
        imports = top_imports(traced["stderr"])
        for item in imports:
            item["why"] = WHY.get(item["package"], "")
        results["handlers"][spec.logical_id] = {
            "client": service,
            "baseline_s": round(base, 4),
            "handler_s": round(handler, 4),
            "handler_import_s": round(statistics.median(import_times), 4),
            "ratio": round(handler / base, 3),
            "floor_kind": floor_kind,
            "floor_s": round(stack, 4),
            "floor_ratio": round(stack / base, 3),
            "own_ratio": round(handler / stack, 3),
            "baseline_runs_s": [round(t, 4) for t in base_times],
            "floor_runs_s": [round(t, 4) for t in floor_times],
            "handler_runs_s": [round(t, 4) for t in handler_times],
            "top_imports": imports,
        }
        log(
            f"  cold start {spec.logical_id}: {handler * 1000:.0f} ms vs boto3 alone "
            f"{base * 1000:.0f} ms ({service}) = {handler / base:.2f}; stack floor "
            f"{stack * 1000:.0f} ms = {stack / base:.2f}; handler / floor {handler / stack:.2f}"
        )
    return results
