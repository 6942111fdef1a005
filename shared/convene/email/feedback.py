"""What recipients tell us: SES bounce and complaint events (through the configuration
set's SNS destination), and one-click unsubscribes.

A permanent bounce or a complaint suppresses the address for good; a transient bounce
(mailbox full, greylisting) does not, as the next email may well arrive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from aws_lambda_powertools import Logger

from convene.email import suppression
from convene.email.outbox import ListKind

logger = Logger(child=True)


@dataclass(frozen=True)
class FeedbackOutcome:
    event_type: str
    suppressed: int = 0


def _addresses(recipients: Any) -> list[str]:
    found = []
    for recipient in recipients or []:
        _, address = parseaddr(str((recipient or {}).get("emailAddress", "")))
        if "@" in address:
            found.append(address)
    return found


def handle_ses_event(message: str) -> FeedbackOutcome:
    """One SNS message from SES (event publishing names the type `eventType`; identity
    notifications name it `notificationType`: both are read)."""
    try:
        event = json.loads(message)
    except ValueError:
        logger.warning("SES feedback that is not JSON, ignored")
        return FeedbackOutcome("unreadable")
    if not isinstance(event, dict):
        logger.warning("SES feedback that is not an object, ignored")
        return FeedbackOutcome("unreadable")
    event_type = str(event.get("eventType") or event.get("notificationType") or "unknown")
    count = 0
    if event_type == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") == "Permanent":
            for address in _addresses(bounce.get("bouncedRecipients")):
                suppression.suppress(address, "bounce", str(bounce.get("bounceSubType", "")))
                count += 1
    elif event_type == "Complaint":
        complaint = event.get("complaint") or {}
        for address in _addresses(complaint.get("complainedRecipients")):
            detail = str(
                complaint.get("complaintFeedbackType") or complaint.get("complaintSubType") or ""
            )
            suppression.suppress(address, "complaint", detail)
            count += 1
    bounce_type = (event.get("bounce") or {}).get("bounceType") if event_type == "Bounce" else None
    logger.info(
        "SES feedback",
        extra={"event_type": event_type, "bounce_type": bounce_type, "suppressed": count},
    )
    return FeedbackOutcome(event_type, count)


def unsubscribe(token: str) -> ListKind:
    """Stores the unsubscribe the token stands for; InvalidToken if it is not ours."""
    hashed, kind = suppression.read_token(token)
    suppression.unsubscribe(hashed, kind)
    logger.info("unsubscribed", extra={"list_kind": kind})
    return kind
