"""What the API is, read from template.yaml and openapi.json: the one catalogue that the
proof tests (auth battery, fuzzing, limits) and the benchmarks walk.

Nothing here names a route: a capability's routes are covered as soon as template.yaml
declares them. Routes come from the twin's own reading of the template
(`infra.local.gateway.RouteTable`), so the tests and the twin agree on which routes exist and
which sit behind the Cognito authorizer. The group a protected route needs is the
operation's tag in openapi.json that names a Cognito group of the template (`organisers`,
`moderators`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "openapi.json"
METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case
    path: str  # the resource template, e.g. /events/{eventId}
    function: str  # logical id of the function behind it
    protected: bool  # behind the Cognito authorizer
    group: str | None  # the Cognito group it needs (protected routes)
    operation: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def documented(self) -> bool:
        return self.operation is not None

    @property
    def public(self) -> bool:
        """Answers that anyone may see (the privacy rule applies to them)."""
        return not self.protected

    def path_parameters(self) -> list[str]:
        return [s[1:-1].rstrip("+") for s in self.path.split("/") if s.startswith("{")]

    def query_parameters(self) -> list[dict[str, Any]]:
        params = (self.operation or {}).get("parameters") or []
        return [p for p in params if p.get("in") == "query"]

    def json_body_schema(self, doc: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The request body's JSON schema with $refs resolved one level (None: no body)."""
        body = (self.operation or {}).get("requestBody") or {}
        schema = ((body.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            return None
        return resolve(schema, doc or openapi())

    def sample_path(self, values: dict[str, str] | None = None) -> str:
        """The path with each parameter filled (by `values`, else a well-formed id)."""
        out = self.path
        for name in self.path_parameters():
            value = (values or {}).get(name, "bench-sample-1")
            out = out.replace("{" + name + "}", value).replace("{" + name + "+}", value)
        return out


@lru_cache(maxsize=1)
def openapi(path: Path = OPENAPI) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def resolve(schema: Any, doc: dict[str, Any], depth: int = 0) -> Any:
    """A schema with local $refs replaced (depth-limited: models may be recursive)."""
    if depth > 12:
        return schema
    if isinstance(schema, dict):
        if "$ref" in schema and isinstance(schema["$ref"], str):
            target: Any = doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, doc, depth + 1)
        return {k: resolve(v, doc, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolve(v, doc, depth + 1) for v in schema]
    return schema


def cognito_groups(doc: dict[str, Any] | None = None) -> set[str]:
    from infra.local import template

    doc = doc or template.load()
    return {
        str(res["Properties"]["GroupName"])
        for res in template.resources(doc, "AWS::Cognito::UserPoolGroup").values()
    }


def api_routes(
    doc: dict[str, Any] | None = None, spec: dict[str, Any] | None = None
) -> list[ApiRoute]:
    """Every API route template.yaml declares, in a stable order, each with its openapi.json
    operation (None when the document does not describe it yet)."""
    from infra.local import template
    from infra.local.gateway import RouteTable

    doc = doc or template.load()
    spec = spec or openapi()
    groups = cognito_groups(doc)
    table = RouteTable(doc)
    routes = []
    for path in sorted(table.resources):
        for method, route in sorted(table.resources[path].items()):
            operation = ((spec.get("paths") or {}).get(path) or {}).get(method.lower())
            tags = set((operation or {}).get("tags") or [])
            group = next(iter(sorted(tags & groups)), None)
            routes.append(
                ApiRoute(
                    method=method,
                    path=path,
                    function=route.function_id,
                    protected=route.authorizer is not None,
                    group=group,
                    operation=operation,
                )
            )
    return routes


def documented_only(spec: dict[str, Any] | None = None) -> list[str]:
    """Operations openapi.json describes that template.yaml does not route (yet)."""
    spec = spec or openapi()
    served = {r.key for r in api_routes(spec=spec)}
    out = []
    for path, item in (spec.get("paths") or {}).items():
        for method in item:
            key = f"{method.upper()} {path}"
            if method.lower() in {"get", "put", "post", "delete", "patch"} and key not in served:
                out.append(key)
    return sorted(out)
