"""Who gets no mail: addresses that bounced or complained (suppressed), and people who
unsubscribed from one kind of opt-out mail. Both live in MainTable under a keyed hash of
the normalised address, so no raw address is ever a key:

    suppressed      pk ADDRESS#<hash>   sk SUPPRESSED             reason, detail, at
    unsubscribed    pk ADDRESS#<hash>   sk UNSUBSCRIBED#<kind>    at

One Query on the partition answers "may this address get this email?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from boto3.dynamodb.conditions import Key

from convene import secrets
from convene.aws import table
from convene.email.outbox import ListKind
from convene.settings import get_settings
from convene.timefmt import utc_iso

SUPPRESSED_SK = "SUPPRESSED"
UNSUBSCRIBED_PREFIX = "UNSUBSCRIBED#"
LIST_KINDS: tuple[str, ...] = get_args(ListKind)

Reason = Literal["bounce", "complaint"]


class InvalidToken(ValueError):
    """An unsubscribe token that is malformed or not signed by us."""


def normalise(address: str) -> str:
    return address.strip().lower()


def address_hash(address: str) -> str:
    return secrets.keyed_hash(normalise(address), "address")


def _pk(hashed: str) -> str:
    return f"ADDRESS#{hashed}"


@dataclass
class AddressStatus:
    suppressed: str | None = None  # "bounce" or "complaint"
    unsubscribed: set[str] = field(default_factory=set)


def status(address: str) -> AddressStatus:
    found = AddressStatus()
    response = table(get_settings().table_name).query(
        KeyConditionExpression=Key("pk").eq(_pk(address_hash(address))),
        ConsistentRead=True,
    )
    for stored in response.get("Items", []):
        if stored["sk"] == SUPPRESSED_SK:
            found.suppressed = str(stored.get("reason", "bounce"))
        elif str(stored["sk"]).startswith(UNSUBSCRIBED_PREFIX):
            found.unsubscribed.add(str(stored["sk"]).removeprefix(UNSUBSCRIBED_PREFIX))
    return found


def suppress(
    address: str, reason: Reason, detail: str = "", *, now: datetime | None = None
) -> None:
    """No more mail to this address. Writing it twice is harmless (the latest reason wins)."""
    stored: dict[str, Any] = {
        "pk": _pk(address_hash(address)),
        "sk": SUPPRESSED_SK,
        "entity": "suppression",
        "reason": reason,
        "detail": detail[:200],
        "at": utc_iso(now or datetime.now(UTC)),
    }
    table(get_settings().table_name).put_item(Item=stored)


def unsubscribe(hashed: str, kind: str, *, now: datetime | None = None) -> None:
    if kind not in LIST_KINDS:
        raise InvalidToken("unknown kind")
    table(get_settings().table_name).put_item(
        Item={
            "pk": _pk(hashed),
            "sk": f"{UNSUBSCRIBED_PREFIX}{kind}",
            "entity": "unsubscribe",
            "at": utc_iso(now or datetime.now(UTC)),
        }
    )


# ---------------------------------------------------------------- one-click tokens


def _payload(hashed: str, kind: str) -> str:
    return f"unsubscribe:{hashed}:{kind}"


def unsubscribe_token(address: str, kind: ListKind) -> str:
    """ "<address hash>.<kind>.<signature>": no address in the link, and it never expires
    (an unsubscribe link must keep working)."""
    hashed = address_hash(address)
    return f"{hashed}.{kind}.{secrets.sign(_payload(hashed, kind))}"


def read_token(token: str) -> tuple[str, ListKind]:
    """(address hash, kind) from a token we signed, else InvalidToken."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("malformed")
    hashed, kind, signature = parts
    if kind not in LIST_KINDS or not secrets.verify(_payload(hashed, kind), signature):
        raise InvalidToken("not signed by us")
    return hashed, cast(ListKind, kind)
