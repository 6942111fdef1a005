"""The signing key for links in emails (unsubscribe) and keyed hashes (IP addresses,
reporters). It lives in Secrets Manager, generated at deploy time: never in the template
or in git. Fetched once per execution environment and cached by Powertools."""

from __future__ import annotations

import hashlib
import hmac
import os

from aws_lambda_powertools.utilities import parameters


def signing_key() -> bytes:
    arn = os.environ.get("SIGNING_SECRET_ARN", "")
    if not arn:
        raise RuntimeError("SIGNING_SECRET_ARN is not set")
    value = parameters.get_secret(arn, max_age=3600)
    return str(value).encode("utf-8")


def keyed_hash(value: str, purpose: str) -> str:
    """A stable, non-reversible id for a value we must not store (an IP, a reader)."""
    mac = hmac.new(signing_key(), f"{purpose}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def sign(message: str) -> str:
    return hmac.new(signing_key(), message.encode(), hashlib.sha256).hexdigest()[:32]


def verify(message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(message), signature)
