"""openapi.json is generated from the functions' resolvers and committed; it must say what
the API really does, and every route template.yaml declares must be in it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import openapi

METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return openapi.build()


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))
    return doc


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    }


def test_openapi_json_is_not_stale(generated: dict[str, Any]) -> None:
    committed_text = openapi.OUTPUT.read_text(encoding="utf-8")

    assert committed_text == openapi.render(generated), (
        "openapi.json is stale: run `python -m infra.openapi --write` and commit it"
    )


def test_every_template_route_is_documented_and_nothing_else(committed: dict[str, Any]) -> None:
    declared = set(openapi.api_routes())
    documented = set(_operations(committed))

    assert declared - documented == set(), "routes in template.yaml missing from openapi.json"
    assert documented - declared == set(), "routes in openapi.json missing from template.yaml"


def test_protected_routes_and_only_those_need_a_cognito_token(committed: dict[str, Any]) -> None:
    operations = _operations(committed)

    for key, route in openapi.api_routes().items():
        security = operations[key].get("security")
        if route["protected"]:
            assert security == [{"cognito": []}], key
        else:
            assert not security, key
    assert committed["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"


def test_every_error_response_uses_the_one_error_shape(committed: dict[str, Any]) -> None:
    schemas = committed["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"error"}
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message", "fields"}

    for key, op in _operations(committed).items():
        errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
        assert "422" in errors, key
        for code, response in errors.items():
            for media in response.get("content", {}).values():
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (key, code)
    assert "HTTPValidationError" not in schemas


def test_every_success_response_with_a_body_has_a_schema(committed: dict[str, Any]) -> None:
    for key, op in _operations(committed).items():
        assert any(int(code) < 400 for code in op["responses"]), key
        for code, response in op["responses"].items():
            if 200 <= int(code) < 300 and code != "204":
                json_body = response.get("content", {}).get("application/json")
                assert json_body is None or json_body.get("schema"), (key, code)


def test_the_public_event_schema_has_no_private_fields(committed: dict[str, Any]) -> None:
    public = committed["components"]["schemas"]["PublicEvent"]["properties"]

    assert "joining_url" not in public
    assert "organiser" not in public
    assert "version" not in public
    assert "seats_left" in public
