"""Helpers the unit tests share: tables from template.yaml, handlers by name, API events."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import textwrap
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.local import template

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# The physical table names unit tests use; conftest sets the matching environment.
TABLE_ENV = {
    "TABLE_NAME": template.table_name("MainTable"),
    "OUTBOX_TABLE_NAME": template.table_name("OutboxTable"),
    "IDEMPOTENCY_TABLE_NAME": template.table_name("IdempotencyTable"),
}


def create_tables() -> dict[str, str]:
    import boto3

    return template.create_tables(boto3.client("dynamodb", region_name="eu-west-2"))


def load_handler(folder: str) -> ModuleType:
    """Imports functions/<folder>/app.py afresh under a unique module name."""
    path = ROOT / "functions" / folder / "app.py"
    name = f"convene_fn_{folder}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Headers(dict[str, str]):
    """A response's headers, looked up without regard to case, as HTTP has them."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in pairs)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


@dataclass
class Answer:
    """What a handler answered an API Gateway event with."""

    status: int
    headers: Headers
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def invoke(module: ModuleType, event: dict[str, Any]) -> Answer:
    """Calls a handler module's lambda_handler as API Gateway would. A header sent in
    multiValueHeaders reads as its values joined with ", "."""
    result = module.lambda_handler(event, LambdaContext())
    pairs = list((result.get("headers") or {}).items())
    pairs += [(k, ", ".join(v)) for k, v in (result.get("multiValueHeaders") or {}).items()]
    return Answer(result["statusCode"], Headers(pairs), result.get("body") or "")


class LambdaContext:
    function_name = "convene-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:convene-test"
    log_group_name = "/aws/lambda/convene-test"
    log_stream_name = "test"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str | list[str]] | None = None,
    body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, based on the sample in events/ (AWS's shape)."""
    event = json.loads((EVENTS / "api-gateway-proxy.json").read_text())
    hdrs = {"Content-Type": "application/json", "Host": "api.example.org"}
    raw_body = None
    if form is not None:
        from urllib.parse import urlencode

        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        raw_body = urlencode(form)
    elif body is not None:
        raw_body = body if isinstance(body, str) else json.dumps(body)
    hdrs.update(headers or {})
    multi_query = {k: (v if isinstance(v, list) else [v]) for k, v in (query or {}).items()}
    event.update(
        {
            "httpMethod": method.upper(),
            "path": path,
            "resource": resource or path,
            "pathParameters": path_params or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "headers": hdrs,
            "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
            "body": raw_body,
            "isBase64Encoded": False,
        }
    )
    ctx = event["requestContext"]
    ctx["httpMethod"] = method.upper()
    ctx["resourcePath"] = resource or path
    ctx["path"] = f"/dev{path}"
    ctx["requestId"] = str(uuid.uuid4())
    ctx["authorizer"] = {"claims": claims} if claims else None
    return event


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


_COUNT_COMPILES = textwrap.dedent(
    """
    import importlib._bootstrap_external as be, sys
    compiled = []
    original = be.SourceLoader.source_to_code
    def counted(self, data, path, *, _optimize=-1):
        compiled.append(path)
        return original(self, data, path, _optimize=_optimize)
    be.SourceLoader.source_to_code = counted
    sys.path.insert(0, sys.argv[1])
    """
)


def count_compiles(python: str | Path, root: Path, module: str, expression: str) -> list[str]:
    """Imports `module` from `root` in a fresh `python` that cannot write bytecode (as on
    Lambda) and prints `expression`, then how many modules the import compiled from
    source rather than loaded from bytecode; the printed words
    (tests/unit/test_precompile.py, tests/proof/test_packaging.py)."""
    import os
    import subprocess

    script = _COUNT_COMPILES + f"import {module}\nprint({expression}, len(compiled))\n"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    ran = subprocess.run(
        [str(python), "-c", script, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.split()
