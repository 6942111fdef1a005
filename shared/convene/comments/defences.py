"""Spam defences and the trust rule, as pure functions: no I/O, so each is tested alone.

The service reads what they need (the block list, the member's record) and writes what
they decide (rate counters, the duplicate guard) in the submission's one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from convene.comments.policy import RateLimit, Trust
from convene.comments.render import count_links


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_domain(email: str) -> str:
    return normalise_email(email).rpartition("@")[2]


def mask_email(email: str) -> str:
    """What a moderator sees of a blocked address: enough to recognise it, no more."""
    local, _, domain = normalise_email(email).partition("@")
    return f"{local[:1]}***@{domain}"


def normalise_body(body: str) -> str:
    """The text the duplicate rule compares: case and spacing do not make a new comment."""
    return " ".join(body.split()).lower()


@dataclass(frozen=True)
class Blocks:
    """The block list as the submission checks it. Emails are keyed hashes."""

    email_hashes: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()


def blocked(*, email_hash: str, domain: str, texts: list[str], blocks: Blocks) -> str | None:
    """Which block the comment hits ("email", "domain", "word"), or None."""
    if email_hash in blocks.email_hashes:
        return "email"
    # A blocked domain covers its subdomains: "spam.example" blocks "mail.spam.example".
    labels = domain.split(".")
    if any(".".join(labels[i:]) in blocks.domains for i in range(len(labels))):
        return "domain"
    for word in blocks.words:
        pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
        if any(re.search(pattern, text, re.IGNORECASE) for text in texts):
            return "word"
    return None


@dataclass(frozen=True)
class Verdict:
    """What the defences say before the trust rule: spam (quietly), held, or neither."""

    spam_reason: str | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spam(self) -> bool:
        return self.spam_reason is not None

    @property
    def hold(self) -> bool:
        return bool(self.flags)


def judge(
    *,
    website: str | None,
    body: str,
    name: str,
    email_hash: str,
    domain: str,
    blocks: Blocks,
    max_links: int,
) -> Verdict:
    if website:
        return Verdict(spam_reason="honeypot")
    hit = blocked(email_hash=email_hash, domain=domain, texts=[body, name], blocks=blocks)
    if hit:
        return Verdict(spam_reason=f"blocked_{hit}")
    if count_links(body) > max_links:
        return Verdict(flags=("too_many_links",))
    return Verdict()


@dataclass(frozen=True)
class Window:
    """One fixed rate-limit window: its id, when to retry, and when its counter expires."""

    start: int
    retry_after: int
    expires_at: int


def rate_window(now: datetime, limit: RateLimit) -> Window:
    epoch = int(now.timestamp())
    start = epoch - epoch % limit.window_seconds
    end = start + limit.window_seconds
    return Window(start=start, retry_after=max(1, end - epoch), expires_at=end + 60)


@dataclass(frozen=True)
class MemberRecord:
    """A member's comment history as the trust rule reads it."""

    approved: int = 0
    last_rejected_at: str | None = None


def trusted(record: MemberRecord, *, now: datetime, rule: Trust) -> bool:
    """A member with enough approved comments and no recent rejection skips the queue."""
    if not rule.enabled or record.approved < rule.min_approved:
        return False
    if record.last_rejected_at is None:
        return True
    rejected = datetime.fromisoformat(record.last_rejected_at.replace("Z", "+00:00"))
    return now.astimezone(UTC) - rejected > timedelta(days=rule.no_rejection_days)
