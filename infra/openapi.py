"""Generates openapi.json: the routes of every API function, merged into one document.

    python -m infra.openapi --write    regenerate openapi.json
    python -m infra.openapi --check    exit 1 if openapi.json is stale

Each function's resolver (functions/<name>/app.py, loaded by file path as Lambda would)
describes its own routes; Powertools' OpenAPIMerge joins them, with the Cognito security
scheme and the one error shape as components. Which functions serve the API comes from
template.yaml, so a new function is included without editing this file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

from infra.local import template

ROOT = Path(__file__).resolve().parents[1]
_REF = "#/components/schemas/"
OUTPUT = ROOT / "openapi.json"
TITLE = "Convene API"
DESCRIPTION = (
    "Workshop registrations, blog comments and moderation for a community's web pages. "
    "Every error has one shape (ErrorBody). Routes marked with the `cognito` security "
    "scheme are behind the API Gateway Cognito authorizer and check the caller's group."
)


def _version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def api_routes(doc: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) -> {"function": folder, "protected": bool}, as template.yaml declares."""
    routes: dict[tuple[str, str], dict[str, Any]] = {}
    for res in template.resources(doc, "AWS::Serverless::Function").values():
        props = res.get("Properties", {})
        folder = Path(str(props.get("CodeUri", ""))).name
        for spec in (props.get("Events") or {}).values():
            if spec.get("Type") != "Api":
                continue
            event_props = spec.get("Properties", {})
            auth = (event_props.get("Auth") or {}).get("Authorizer")
            key = (str(event_props["Method"]).upper(), str(event_props["Path"]))
            routes[key] = {"function": folder, "protected": bool(auth and auth != "NONE")}
    return routes


def api_functions() -> list[str]:
    return sorted({route["function"] for route in api_routes().values()})


def _load_app(folder: str) -> Any:
    path = ROOT / "functions" / folder / "app.py"
    name = f"convene_openapi_{folder}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module.app


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def _drop_unused_schemas(doc: dict[str, Any]) -> None:
    # With every 422 in the one error shape, Powertools' own validation error schemas
    # are left unreferenced: keep only what the paths reach.
    schemas = doc.get("components", {}).get("schemas", {})
    reached: set[str] = set()
    todo = _references(doc.get("paths", {}))
    while todo:
        name = todo.pop()
        if name in reached or name not in schemas:
            continue
        reached.add(name)
        todo |= _references(schemas[name])
    for name in set(schemas) - reached:
        del schemas[name]


def _one_error_shape(doc: dict[str, Any]) -> None:
    # make_resolver answers every validation failure in the one error shape, so a route's
    # 422 says so even where the route left Powertools' default in place.
    from convene.apidoc import ErrorBody

    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in (
        ErrorBody.model_json_schema(ref_template=_REF + "{model}").get("$defs", {}).items()
    ):
        schemas.setdefault(name, schema)
    body_schema = ErrorBody.model_json_schema(ref_template=_REF + "{model}")
    body_schema.pop("$defs", None)
    schemas.setdefault("ErrorBody", body_schema)
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if media.get("schema") == {"$ref": _REF + "HTTPValidationError"}:
                        media["schema"] = {"$ref": _REF + "ErrorBody"}


def build() -> dict[str, Any]:
    """The merged document as plain JSON data."""
    if str(ROOT / "shared") not in sys.path:
        sys.path.insert(0, str(ROOT / "shared"))
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from convene.apidoc import security_schemes

    schemes = security_schemes()
    version = _version()
    merge = OpenAPIMerge(
        title=TITLE,
        version=version,
        description=DESCRIPTION,
        security_schemes=schemes,
        on_conflict="error",
    )
    for folder in api_functions():
        app = _load_app(folder)
        try:
            schema = app.get_openapi_schema(title=TITLE, version=version, security_schemes=schemes)
        except Exception as exc:
            raise RuntimeError(f"functions/{folder}/app.py: no OpenAPI schema: {exc}") from exc
        merge.add_schema(schema)
    doc: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _one_error_shape(doc)
    _drop_unused_schemas(doc)
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate openapi.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if openapi.json is stale")
    args = parser.parse_args(argv)

    text = render(build())
    if args.write:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
        return 0
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    if current != text:
        print("openapi.json is stale: run `python -m infra.openapi --write`", file=sys.stderr)
        return 1
    print("openapi.json is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
