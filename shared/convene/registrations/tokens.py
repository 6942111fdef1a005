"""Ids and the tokens in email links.

A token is random (256 bits), goes out only in an email, and is stored only as its
SHA-256 hash, with an expiry. A registration id is random too, and is never a token: it
names a registration, it does not open it.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from convene.registrations.models import REGISTRATION_ID_RE, TOKEN_PATTERN

_TOKEN = re.compile(TOKEN_PATTERN)


def new_registration_id() -> str:
    return "reg_" + secrets.token_hex(16)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


def looks_like_token(token: str | None) -> bool:
    return bool(token) and _TOKEN.fullmatch(token or "") is not None


def looks_like_registration_id(registration_id: str) -> bool:
    return REGISTRATION_ID_RE.fullmatch(registration_id) is not None
