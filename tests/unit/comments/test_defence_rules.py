"""The defences and the trust rule as plain functions (no tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from convene.comments import defences
from convene.comments.policy import RateLimit, Trust

RULE = Trust(enabled=True, min_approved=2, no_rejection_days=90)
NOW = datetime(2021, 7, 22, 11, 0, 30, tzinfo=UTC)


def test_a_rate_window_says_how_long_to_wait_and_outlives_itself() -> None:
    window = defences.rate_window(NOW, RateLimit(max=5, window_seconds=600))

    assert window.start == int(datetime(2021, 7, 22, 11, 0, tzinfo=UTC).timestamp())
    assert window.retry_after == 570
    assert window.expires_at > window.start + 600


def test_a_blocked_domain_covers_its_subdomains_but_not_lookalikes() -> None:
    blocks = defences.Blocks(domains=frozenset({"spam.example"}))

    def hit(domain: str) -> str | None:
        return defences.blocked(email_hash="h", domain=domain, texts=[], blocks=blocks)

    assert hit("spam.example") == "domain"
    assert hit("mail.spam.example") == "domain"
    assert hit("notspam.example") is None


def test_a_blocked_phrase_matches_in_the_name_too() -> None:
    blocks = defences.Blocks(words=frozenset({"cheap pills"}))

    assert (
        defences.blocked(
            email_hash="h",
            domain="example.org",
            texts=["Hello", "Cheap   Pills Shop"],
            blocks=blocks,
        )
        is None
    )
    assert (
        defences.blocked(
            email_hash="h", domain="example.org", texts=["Hello", "cheap pills shop"], blocks=blocks
        )
        == "word"
    )


def test_trust_needs_enough_approved_comments() -> None:
    assert not defences.trusted(defences.MemberRecord(approved=1), now=NOW, rule=RULE)
    assert defences.trusted(defences.MemberRecord(approved=2), now=NOW, rule=RULE)


def test_trust_waits_90_days_after_a_rejection() -> None:
    recent = (NOW - timedelta(days=89)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (NOW - timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert not defences.trusted(defences.MemberRecord(5, recent), now=NOW, rule=RULE)
    assert defences.trusted(defences.MemberRecord(5, old), now=NOW, rule=RULE)


def test_trust_off_trusts_nobody() -> None:
    rule = RULE.model_copy(update={"enabled": False})

    assert not defences.trusted(defences.MemberRecord(approved=50), now=NOW, rule=rule)


def test_links_are_counted_in_markdown_and_bare_forms() -> None:
    verdict = defences.judge(
        website=None,
        body="[a](https://a.example) <http://b.example> www.c.example mailto:d@example.org",
        name="Kim",
        email_hash="h",
        domain="example.org",
        blocks=defences.Blocks(),
        max_links=3,
    )

    assert verdict.flags == ("too_many_links",)
    assert not verdict.spam
