"""Who is calling: Cognito ID tokens.

Protected routes are checked by API Gateway's Cognito authorizer, which hands the claims
to the function. Public routes take an optional member token, which the function checks
itself with the same rules (signature against the pool's key set, expiry, audience,
issuer, token use). The offline twin's gateway uses this module too, so the twin and the
function agree on what a valid token is.

PyJWT (and the cryptography it loads for RS256) is imported on the first token to check,
not at init: most public requests carry none, so a guest's cold start does not pay for it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from convene.errors import Unauthorized, Unavailable

if TYPE_CHECKING:
    import jwt


class Caller(BaseModel):
    sub: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    groups: frozenset[str] = frozenset()

    def in_group(self, group: str) -> bool:
        return group in self.groups


@lru_cache(maxsize=8)
def _jwks_client(jwks_url: str) -> jwt.PyJWKClient:
    import jwt

    return jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=3)


def verify_id_token(token: str, *, jwks_url: str, issuer: str, audience: str) -> dict[str, Any]:
    """The token's claims, or Unauthorized. Never logs the token."""
    import jwt

    try:
        key = _jwks_client(jwks_url).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        # Our fault (the key set is unreachable), not the caller's: 503, not 401.
        raise Unavailable(
            "Sign-in checks are unavailable; try again shortly.", headers={"Retry-After": "2"}
        ) from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized("Sign in: the token is missing, invalid or expired.") from exc
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized("Sign in: the token is missing, invalid or expired.") from exc
    if claims.get("token_use") != "id":
        raise Unauthorized("Sign in: an ID token is required.")
    return claims


def _groups(value: Any) -> frozenset[str]:
    # The authorizer hands claims over as strings: "a,b" (REST) or "[a b]" (HTTP API).
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value)
    if not value:
        return frozenset()
    text = str(value).strip().strip("[]")
    return frozenset(p for p in text.replace(",", " ").split() if p)


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    verified = claims.get("email_verified", False)
    return Caller(
        sub=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=verified is True or str(verified).lower() == "true",
        name=claims.get("name"),
        groups=_groups(claims.get("cognito:groups")),
    )
