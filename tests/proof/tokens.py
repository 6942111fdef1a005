"""Tokens for the auth battery: real ones from the twin's user pool, and forged ones.

moto signs the pool's ID tokens with a key it ships (moto/cognitoidp/resources/
jwks-private.json.gz, key id "dummy"). Re-signing a real token's claims with that key, with
one claim changed, isolates the one fault under test (expiry, audience, issuer); re-signing
them unchanged is the control that proves the forging itself is sound.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@lru_cache(maxsize=1)
def moto_private_jwk() -> dict[str, Any]:
    import moto

    resources = Path(moto.__file__).parent / "cognitoidp" / "resources"
    gz = resources / "jwks-private.json.gz"
    raw = gzip.decompress(gz.read_bytes()) if gz.is_file() else (
        resources / "jwks-private.json"
    ).read_bytes()
    return dict(json.loads(raw))


def moto_key() -> Any:
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(moto_private_jwk()))


@lru_cache(maxsize=1)
def stranger_key() -> Any:
    """An RSA key of our own: a signature the pool's key set cannot verify."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token).get("kid", moto_private_jwk()["kid"]))


def sign(claims: dict[str, Any], *, kid: str, key: Any = None) -> str:
    return jwt.encode(claims, key or moto_key(), algorithm="RS256", headers={"kid": kid})


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any], *, kid: str) -> str:
    """`alg: none`: a header, the claims and an empty signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."


def bad_tokens(real: str) -> dict[str, str]:
    """Each way a token must be refused, made from a real token of the right group."""
    claims = claims_of(real)
    kid = kid_of(real)
    now = int(time.time())
    header, payload, signature = real.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    return {
        "malformed": "this-is-not-a-token",
        "malformed (three garbage parts)": "abc.def.ghi",
        "truncated": real[: len(real) // 2],
        "wrong signature (another key, same kid)": sign(claims, kid=kid, key=stranger_key()),
        "wrong signature (tampered bytes)": f"{header}.{payload}.{flipped}",
        "tampered claims (group added, old signature)": (
            f"{header}.{_b64({**claims, 'cognito:groups': ['organisers', 'moderators']})}"
            f".{signature}"
        ),
        "alg none": unsigned(claims, kid=kid),
        "alg none (no signature part)": unsigned(claims, kid=kid)[:-1],
        "expired": sign({**claims, "iat": now - 7200, "exp": now - 3600}, kid=kid),
        "not yet valid (issued in the future)": sign(
            {**claims, "iat": now + 3600, "nbf": now + 3600, "exp": now + 7200}, kid=kid
        ),
        "wrong audience": sign({**claims, "aud": "some-other-app-client"}, kid=kid),
        "wrong issuer": sign(
            {**claims, "iss": "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_other"},
            kid=kid,
        ),
        "access token, not an ID token": sign({**claims, "token_use": "access"}, kid=kid),
        "unknown key id": sign(claims, kid="no-such-key"),
    }


def resigned(real: str) -> str:
    """The real token's claims signed again with the pool's key: must be accepted."""
    return sign(claims_of(real), kid=kid_of(real))
