"""What each handler loads at init, and what it leaves for the request that needs it.

A cold start pays for every module a handler imports (bench/RESULTS.md, "Cold start").
Libraries that only some requests use load with the first such request; this pins that,
so a new top-level import cannot quietly put them back on every cold start. Each handler
is imported in a fresh interpreter with its environment from template.yaml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local import template
from infra.local.env import function_environment

ROOT = Path(__file__).resolve().parents[2]

# Loaded by the requests that use them, never at init:
DEFERRED = {
    "jwt": "member tokens: the first request that carries one",
    "cryptography": "RSA for token signatures, through PyJWT",
    "markdown_it": "rendering a submitted comment",
    "nh3": "sanitising a submitted comment",
    "icalendar": "a calendar download, or the first email that carries a calendar",
    "aws_lambda_powertools.event_handler.openapi.models": "writing the OpenAPI document",
}
# Per function, services its other routes never touch.
DEFERRED_BY_FUNCTION = {
    "OrganisersFunction": {"convene.comments.service": "the two people routes"},
    # The scheduled run's digest reads counters: the moderation API's models are not needed.
    "RemindersFunction": {
        "convene.moderation.models": "the moderation API",
        "convene.comments.models": "the comments API",
    },
}

PROBE = """
import importlib.util, json, sys
sys.path[:0] = [{shared!r}, {code_dir!r}]
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def _environment(logical_id: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        **function_environment(logical_id),
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _loaded_at_init(spec: template.FunctionSpec) -> set[str]:
    code = PROBE.format(
        shared=str(ROOT / "shared"),
        code_dir=str(spec.code_dir),
        path=str(spec.code_dir / f"{spec.module}.py"),
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_environment(spec.logical_id),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


FUNCTIONS = template.functions()


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[f.logical_id for f in FUNCTIONS])
def test_a_handler_loads_at_init_only_what_every_request_needs(
    spec: template.FunctionSpec,
) -> None:
    loaded = _loaded_at_init(spec)
    assert "convene" in loaded, "the probe did not import the layer"
    deferred = {**DEFERRED, **DEFERRED_BY_FUNCTION.get(spec.logical_id, {})}
    early = {
        name: why
        for name, why in deferred.items()
        if any(m == name or m.startswith(name + ".") for m in loaded)
    }
    assert not early, f"{spec.logical_id} loads at init what only some requests need: {early}"
