"""Delivering one outbox item: the Notifications function calls `deliver` per new item.

    read the item (consistent)        sent / suppressed / unsubscribed already: nothing to do
    check the address                 suppressed or unsubscribed: record why, send nothing
    render, build the MIME message    a bad item is a PoisonMessage (retried, then the DLQ)
    claim it (conditional update)     pending -> sending, with a lease
    send with SES v2 (raw)            failure: release the claim, DeliveryDeferred
    mark it sent (conditional)        only the claim holder may

The claim is what makes a redelivered stream record, or two invocations that race, send
nothing twice. The lease ends when the invocation holding it must have ended (its
remaining time), so a crashed invocation never blocks the item for long. The one gap SES
leaves open: if an invocation dies after SES accepted the message and before the item is
marked sent, the retry sends it again (at least once, never lost).

Addresses are never logged: log lines carry the outbox key (ids only) and the kind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from jinja2 import TemplateError, TemplateNotFound
from pydantic import ValidationError

from convene.aws import client, table
from convene.email import mime, suppression
from convene.email.config import EmailSettings, get_email_settings
from convene.email.outbox import MODERATORS, ORGANISERS, OutboxMessage, from_item
from convene.email.render import render
from convene.settings import get_settings
from convene.timefmt import utc_iso

logger = Logger(child=True)

PENDING, SENDING, SENT = "pending", "sending", "sent"
SUPPRESSED, UNSUBSCRIBED = "suppressed", "unsubscribed"
DONE_BEFORE, MISSING = "done before", "missing"
DONE = frozenset({SENT, SUPPRESSED, UNSUBSCRIBED})

# SES answers these when it is busy or paused: the same message will go through later.
_SES_RETRYABLE = {
    "TooManyRequestsException",
    "LimitExceededException",
    "SendingPausedException",
    "ThrottlingException",
    "Throttling",
    "InternalFailure",
    "ServiceUnavailable",
}


class PoisonMessage(Exception):
    """This item can never be sent as it is (unknown kind, missing data, refused by SES).
    Its messages name fields and codes, never values: they reach the logs."""


class DeliveryDeferred(Exception):
    """Not now: SES or DynamoDB is throttling or failing, or another invocation holds the
    item. The stream retries the record."""


@dataclass(frozen=True)
class Delivery:
    status: str  # SENT, SUPPRESSED, UNSUBSCRIBED, DONE_BEFORE or MISSING
    reason: str | None = None


def _outbox() -> Any:
    return table(get_settings().outbox_table_name)


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _recipient(message: OutboxMessage, settings: EmailSettings) -> str:
    roles = {MODERATORS: settings.moderators_address, ORGANISERS: settings.organisers_address}
    if message.to in roles:
        if not roles[message.to]:
            raise PoisonMessage(f"no address is configured for {message.to}")
        return roles[message.to]
    return message.to


def unsubscribe_url(address: str, list_kind: str, settings: EmailSettings) -> str:
    token = suppression.unsubscribe_token(address, list_kind)  # type: ignore[arg-type]
    return f"{settings.site_url.rstrip('/')}/email/unsubscribe?token={token}"


def _validation_summary(exc: ValidationError) -> str:
    # Field locations and pydantic's own messages; the input values are hidden.
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err.get("loc", ())) or "item"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)[:500]


def _record_error(pk: str, error: str) -> None:
    """Best effort: the item says why it has not gone (an operator reads it from the DLQ)."""
    try:
        _outbox().update_item(
            Key={"pk": pk},
            UpdateExpression=(
                "SET last_error = :e, attempts = if_not_exists(attempts, :zero) + :one"
            ),
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":e": error[:500],
                ":zero": 0,
                ":one": 1,
                ":pending": PENDING,
            },
        )
    except (ClientError, BotoCoreError):
        logger.warning("could not record the delivery error", extra={"outbox": pk})


def _finish_unsent(pk: str, status: str, reason: str, now: datetime) -> None:
    try:
        _outbox().update_item(
            Key={"pk": pk},
            UpdateExpression="SET #s = :status, reason = :reason, finished_at = :at",
            ConditionExpression="#s = :pending OR (#s = :sending AND lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":status": status,
                ":reason": reason,
                ":at": utc_iso(now),
                ":pending": PENDING,
                ":sending": SENDING,
                ":now": int(now.timestamp()),
            },
        )
    except ClientError as exc:
        if not _condition_failed(exc):
            raise


def _claim(pk: str, claim: str, now: datetime, lease_seconds: int) -> None:
    try:
        _outbox().update_item(
            Key={"pk": pk},
            UpdateExpression=(
                "SET #s = :sending, claim = :claim, lease_until = :until, "
                "attempts = if_not_exists(attempts, :zero) + :one"
            ),
            ConditionExpression="#s = :pending OR (#s = :sending AND lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":sending": SENDING,
                ":pending": PENDING,
                ":claim": claim,
                ":until": int(now.timestamp()) + lease_seconds,
                ":now": int(now.timestamp()),
                ":zero": 0,
                ":one": 1,
            },
        )
    except ClientError as exc:
        if _condition_failed(exc):
            raise DeliveryDeferred("another invocation holds this item") from None
        raise


def _release(pk: str, claim: str, error: str) -> None:
    try:
        _outbox().update_item(
            Key={"pk": pk},
            UpdateExpression="SET #s = :pending, last_error = :e REMOVE claim, lease_until",
            ConditionExpression="claim = :claim",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":pending": PENDING, ":e": error, ":claim": claim},
        )
    except (ClientError, BotoCoreError):
        # The lease runs out on its own; the retry takes the item over then.
        logger.warning("could not release the claim", extra={"outbox": pk})


def _mark_sent(pk: str, claim: str, message_id: str, now: datetime) -> None:
    try:
        _outbox().update_item(
            Key={"pk": pk},
            UpdateExpression=(
                "SET #s = :sent, sent_at = :at, ses_message_id = :mid "
                "REMOVE claim, lease_until, last_error"
            ),
            ConditionExpression="claim = :claim",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":sent": SENT,
                ":at": utc_iso(now),
                ":mid": message_id,
                ":claim": claim,
            },
        )
    except (ClientError, BotoCoreError):
        # SES has the message: failing the record now would only send it twice.
        logger.exception("sent, but could not mark the outbox item sent", extra={"outbox": pk})


def _lease_held(stored: dict[str, Any], now: datetime) -> bool:
    return stored.get("status") == SENDING and int(stored.get("lease_until", 0)) >= int(
        now.timestamp()
    )


def deliver(pk: str, *, lease_seconds: int = 30, now: datetime | None = None) -> Delivery:
    """Sends the outbox item `pk` once, or records why it is not sent."""
    now = now or datetime.now(UTC)
    settings = get_email_settings()
    stored = _outbox().get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
    if stored is None:
        logger.warning("outbox item not found", extra={"outbox": pk})
        return Delivery(MISSING)
    if stored.get("status") in DONE:
        logger.info("outbox item already handled", extra={"outbox": pk, "status": stored["status"]})
        return Delivery(DONE_BEFORE, str(stored["status"]))
    if _lease_held(stored, now):
        raise DeliveryDeferred("another invocation holds this item")

    try:
        message = from_item(stored)
    except ValidationError as exc:
        summary = _validation_summary(exc)
        _record_error(pk, f"invalid item: {summary}")
        raise PoisonMessage(f"invalid outbox item {pk}: {summary}") from None
    try:
        address = _recipient(message, settings)
    except PoisonMessage as exc:
        _record_error(pk, str(exc))
        raise

    check = suppression.status(address)
    if check.suppressed:
        _finish_unsent(pk, SUPPRESSED, check.suppressed, now)
        logger.info("address suppressed", extra={"outbox": pk, "kind": message.kind})
        return Delivery(SUPPRESSED, check.suppressed)
    if message.list_kind and message.list_kind in check.unsubscribed:
        reason = f"unsubscribed from {message.list_kind}"
        _finish_unsent(pk, UNSUBSCRIBED, reason, now)
        logger.info("recipient unsubscribed", extra={"outbox": pk, "kind": message.kind})
        return Delivery(UNSUBSCRIBED, reason)

    raw = _compose(
        pk, message, address, settings, str(stored.get("created_at") or utc_iso(now)), now
    )

    claim = uuid.uuid4().hex
    _claim(pk, claim, now, lease_seconds)
    try:
        message_id = _send(raw, message.kind, settings)
    except PoisonMessage as exc:
        _release(pk, claim, str(exc))
        raise
    except DeliveryDeferred as exc:
        _release(pk, claim, str(exc))
        raise
    _mark_sent(pk, claim, message_id, datetime.now(UTC))
    logger.info("email sent", extra={"outbox": pk, "kind": message.kind})
    return Delivery(SENT)


def _compose(
    pk: str,
    message: OutboxMessage,
    address: str,
    settings: EmailSettings,
    created_at: str,
    now: datetime,
) -> bytes:
    try:
        link = unsubscribe_url(address, message.list_kind, settings) if message.list_kind else None
        rendered = render(message.kind, message.data, created_at=created_at, unsubscribe_url=link)
        attachments: tuple[mime.Attachment, ...] = ()
        if message.ics:
            # icalendar (about 80 ms of import) loads with the first message that carries
            # a calendar: a cold start that sends only other kinds never pays for it.
            from convene.email.ics import calendar_file

            content = calendar_file(
                message.ics,
                organiser=settings.sender_address,
                organiser_name=settings.sender_name,
                attendee=address,
                now=now,
            )
            attachments = (mime.calendar_attachment(content, message.ics.method),)
        return mime.build(
            rendered,
            sender=settings.sender_address,
            sender_name=settings.sender_name,
            to=address,
            reply_to=message.reply_to,
            unsubscribe_url=link,
            attachments=attachments,
            now=now,
        )
    except TemplateNotFound as exc:
        reason = f"cannot render {message.kind}: no template {exc.name}"
    except TemplateError as exc:
        # Jinja names the template or the variable, never a value.
        reason = f"cannot render {message.kind}: {type(exc).__name__}: {exc.message}"
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        reason = f"cannot render {message.kind}: {type(exc).__name__}"
    _record_error(pk, reason)
    raise PoisonMessage(f"{pk}: {reason}")


def _send(raw: bytes, kind: str, settings: EmailSettings) -> str:
    if not settings.sender_address:
        raise PoisonMessage("SENDER_ADDRESS is not set")
    args: dict[str, Any] = {
        "FromEmailAddress": settings.sender_address,
        "Content": {"Raw": {"Data": raw}},
        "EmailTags": [{"Name": "kind", "Value": kind}],
    }
    if settings.configuration_set:
        args["ConfigurationSetName"] = settings.configuration_set
    try:
        response = client("sesv2").send_email(**args)
    except ClientError as exc:
        # SES messages can quote addresses: keep the code only, and drop the cause.
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        # A 5xx is SES (or what stands in front of it) failing, whatever the code says: a
        # bare 502/503 has no error type, and botocore then names it by its status.
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _SES_RETRYABLE or status == 429 or status >= 500:
            raise DeliveryDeferred(f"SES: {code}") from None
        raise PoisonMessage(f"SES refused the message: {code}") from None
    except BotoCoreError as exc:
        raise DeliveryDeferred(f"SES unreachable: {type(exc).__name__}") from None
    return str(response.get("MessageId", ""))


def lease_for(remaining_ms: int) -> int:
    """A lease that ends when the invocation holding it must have ended."""
    return max(5, remaining_ms // 1000 + 1)
