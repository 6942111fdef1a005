"""The auth battery: every route behind the Cognito authorizer (template.yaml) refuses each
kind of bad token with 401 or 403, and lets a token of the right group through.

Routes come from template.yaml (bench.routes), so a capability's protected routes are
covered as soon as it declares them. The group a route needs is its openapi.json tag.
Forged tokens re-sign a real token's claims with moto's pool key, one claim changed
(tests/proof/tokens.py); the unchanged re-signed token is the control.
"""

from __future__ import annotations

import pytest

from bench.routes import ApiRoute, api_routes
from tests.integration.twin import Twin
from tests.proof import tokens
from tests.proof.conftest import error_shape

PROTECTED = [r for r in api_routes() if r.protected]
REFUSED = {401, 403}


def _ids(route: ApiRoute) -> str:
    return route.key


def role_for(twin: Twin, group: str) -> str:
    for user in twin.config["users"]:
        if group in user["groups"]:
            return str(user["role"])
    raise LookupError(f"no demo user in group {group}")


def wrong_roles(twin: Twin, group: str) -> list[str]:
    return [u["role"] for u in twin.config["users"] if group not in u["groups"]]


def call(twin: Twin, route: ApiRoute, headers: dict[str, str]) -> tuple[int, object]:
    kwargs: dict[str, object] = {"headers": headers}
    if route.method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    response = twin.request(route.method, route.sample_path(), **kwargs)  # type: ignore[arg-type]
    try:
        body: object = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body


def test_there_are_protected_routes_and_each_names_its_group() -> None:
    assert PROTECTED, "template.yaml declares no route behind the Cognito authorizer"
    missing = [r.key for r in PROTECTED if r.group is None]
    assert not missing, (
        f"protected routes without a group tag in openapi.json (organisers, moderators): "
        f"{missing}"
    )


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_a_protected_route_refuses_a_request_without_a_token(
    proof_twin: Twin, route: ApiRoute
) -> None:
    status, body = call(proof_twin, route, {})
    assert status == 401, (status, body)
    assert error_shape(body), body


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_a_protected_route_refuses_every_kind_of_bad_token(
    proof_twin: Twin, route: ApiRoute
) -> None:
    assert route.group
    real = proof_twin.id_token(role_for(proof_twin, route.group))
    answers = {}
    for name, token in tokens.bad_tokens(real).items():
        for header in (f"Bearer {token}", token):
            status, body = call(proof_twin, route, {"Authorization": header})
            answers[f"{name} ({header[:7]})"] = status
            assert status in REFUSED, f"{route.key}: {name} answered {status}: {body}"
            assert error_shape(body), f"{route.key}: {name}: {body}"
    for header in ("Bearer", "Bearer  x", "Basic dXNlcjpwYXNz", "-"):
        status, body = call(proof_twin, route, {"Authorization": header})
        assert status in REFUSED, f"{route.key}: header {header!r} answered {status}: {body}"


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_a_protected_route_refuses_a_valid_token_of_the_wrong_group(
    proof_twin: Twin, route: ApiRoute
) -> None:
    assert route.group
    others = wrong_roles(proof_twin, route.group)
    assert others
    for role in others:
        status, body = call(proof_twin, route, proof_twin.headers(role))
        assert status == 403, f"{route.key} as {role}: {status} {body}"
        assert error_shape(body), body


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_a_protected_route_lets_a_token_of_the_right_group_through(
    proof_twin: Twin, route: ApiRoute
) -> None:
    assert route.group
    real = proof_twin.id_token(role_for(proof_twin, route.group))
    for token in (real, tokens.resigned(real)):  # the forging control
        status, body = call(proof_twin, route, {"Authorization": f"Bearer {token}"})
        # Past the authorizer and the group check: the route answers for itself (an empty
        # body is a 422, an unknown id a 404), never 401/403, never 5xx.
        assert status not in REFUSED, f"{route.key}: {status} {body}"
        assert status < 500, f"{route.key}: {status} {body}"


def test_the_bad_tokens_are_refused_by_the_function_itself_too() -> None:
    """Defence in depth: convene.auth (used by the twin's authorizer and by public routes
    for optional member tokens) refuses each forged token on its own."""
    from convene.auth import verify_id_token
    from convene.errors import Unauthorized

    real_claims = {
        "sub": "8d4b2c1e",
        "aud": "client-1",
        "iss": "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_pool",
        "token_use": "id",
        "cognito:groups": ["organisers"],
        "email": "organiser@community.example.org",
        "iat": 1_700_000_000,
        "exp": 4_100_000_000,
    }
    real = tokens.sign(real_claims, kid=tokens.moto_private_jwk()["kid"])
    public = {k: v for k, v in tokens.moto_private_jwk().items() if k not in {"d", "p", "q",
                                                                                 "dp", "dq", "qi"}}

    class _Keys:
        def get_signing_key_from_jwt(self, token: str) -> object:
            import jwt

            kid = jwt.get_unverified_header(token).get("kid")
            if kid != public["kid"]:
                raise jwt.PyJWKClientError("no such key")
            return jwt.PyJWK(public)

    import convene.auth as auth

    original = auth._jwks_client
    auth._jwks_client = lambda url: _Keys()  # type: ignore[assignment,misc,return-value]
    try:
        ok = verify_id_token(real, jwks_url="x", issuer=real_claims["iss"], audience="client-1")
        assert ok["sub"] == "8d4b2c1e"
        for name, token in tokens.bad_tokens(real).items():
            with pytest.raises(Unauthorized):
                verify_id_token(token, jwks_url="x", issuer=real_claims["iss"], audience="client-1")
                pytest.fail(f"{name} was accepted")
    finally:
        auth._jwks_client = original  # type: ignore[assignment]
