"""The spam queue: what the defences caught (a blocked email, domain or word, the honeypot)
waits there until it expires. Moderators can read it,
claim from it, and take a false positive out of it by approving it; nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from convene.timefmt import utc_iso

from tests.unit.moderation.conftest import (
    BLOCKED,
    Desk,
    caught,
    main_items,
    outbox,
    waiting,
)


def stored(comment_id: str) -> dict[str, Any]:
    return next(
        i for i in main_items() if i["pk"] == f"COMMENT#{comment_id}" and i["sk"] == "COMMENT"
    )


def person_entry(comment_id: str) -> dict[str, Any]:
    return next(
        i
        for i in main_items()
        if i["sk"] == f"COMMENT#{comment_id}" and i["pk"].startswith("PERSON#")
    )


def history_of(comment_id: str) -> dict[str, int]:
    email_hash = stored(comment_id)["email_hash"]
    item = next(
        i for i in main_items() if i["pk"] == f"PERSON#{email_hash}" and i["sk"] == "MODERATION"
    )
    return {k: int(item.get(k, 0)) for k in ("approved", "rejected", "spam")}


def stored_expiry(comment_id: str) -> str:
    """The comment's TTL as the API shows it (UTC text)."""
    return utc_iso(datetime.fromtimestamp(int(stored(comment_id)["expires_at"]), UTC))


def test_a_caught_comment_waits_in_the_spam_queue_with_why_and_until_when(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    comment_id = caught()

    spam = desk.queue("spam")

    assert spam.status == 200, spam.text
    [item] = spam.json["items"]
    assert item["comment_id"] == comment_id
    assert item["queue"] == "spam"
    assert "blocked_word" in item["flags"]
    assert item["expires_at"] == stored_expiry(comment_id)
    assert item["author_email"] == "dana@example.org"  # moderators see who wrote it
    assert desk.queue("pending").json["items"] == []
    stats = desk.stats().json["queues"]
    assert set(stats) == {"pending", "reported"}  # spam is not counted


def test_approving_a_false_positive_publishes_it_and_keeps_it(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    comment_id = caught()
    assert "expires_at" in person_entry(comment_id)
    assert history_of(comment_id) == {"approved": 0, "rejected": 0, "spam": 1}

    answer = desk.decide(comment_id, "approve", version=1)

    assert answer.status == 200, answer.text
    assert answer.json["status"] == "approved"
    page = desk.public_page()
    assert page["count"] == 1
    assert [c["comment_id"] for c in page["comments"]] == [comment_id]
    assert desk.queue("spam").json["items"] == []
    # Kept: neither the comment nor the person's index entry expires any more.
    assert "expires_at" not in stored(comment_id)
    assert "expires_at" not in person_entry(comment_id)
    assert history_of(comment_id) == {"approved": 1, "rejected": 0, "spam": 0}
    trail = desk.history(comment_id).json["items"]
    assert [(r["action"], r["from_status"], r["to_status"]) for r in trail] == [
        ("submitted", None, "spam"),
        ("approve", "spam", "approved"),
    ]
    sent = [m for m in outbox() if m["kind"] == "comment_published"]
    assert [m["to"] for m in sent] == ["dana@example.org"]  # she asked to be told


def test_a_rescued_reply_counts_on_its_parent_and_tells_the_parents_author(desk: Desk) -> None:
    parent = waiting("Who else runs a fundraiser?", email="ana@example.org", notify=True)
    desk.decide(parent, "approve")
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    reply = caught(f"We ran a {BLOCKED} night.", parent_id=parent)
    assert int(stored(parent).get("reply_count", 0)) == 0

    answer = desk.decide(reply, "approve")

    assert answer.status == 200, answer.text
    assert int(stored(parent)["reply_count"]) == 1
    replies = [m for m in outbox() if m["kind"] == "comment_reply"]
    assert [m["to"] for m in replies] == ["ana@example.org"]


def test_spam_can_only_be_approved(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    comment_id = caught()

    rejected = desk.decide(comment_id, "reject", reason_code="off_topic")
    again = desk.decide(comment_id, "spam", reason_code="spam")

    assert rejected.status == 409, rejected.text
    assert rejected.json["error"]["code"] == "spam_approve_only"
    assert rejected.json["error"]["fields"] == {
        "action": "only approve takes a comment out of the spam queue"
    }
    assert again.status == 409
    item = stored(comment_id)
    assert item["status"] == "spam" and int(item["version"]) == 1
    assert "expires_at" in item


def test_spam_past_its_retention_is_gone_for_moderators(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    comment_id = caught()
    desk.clock.advance(days=31)  # past spam_retain_days (30); TTL has not deleted it yet

    listed = desk.queue("spam")
    claimed = desk.claim(5, "spam")
    decided = desk.decide(comment_id, "approve")

    assert listed.json["items"] == []
    assert claimed.json["items"] == [] and claimed.json["claimed"] == 0
    assert decided.status == 404, decided.text
    assert stored(comment_id)["status"] == "spam"


def test_the_stats_say_whether_caught_comments_are_kept_and_when_the_next_goes(
    desk: Desk,
) -> None:
    nothing = {"waiting": False, "oldest_at": None, "next_deletion_at": None}
    assert desk.stats().json["spam"] == nothing
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    first = caught(now=desk.clock.now)
    second = caught(
        f"The {BLOCKED} quiz is back.", email="eli@example.org", now=desk.clock.advance(days=2)
    )

    spam = desk.stats().json["spam"]

    assert spam == {
        "waiting": True,
        "oldest_at": stored(first)["created_at"],
        "next_deletion_at": stored_expiry(first),
    }
    # The first is past its 30 days (TTL has not deleted it yet): the second is next.
    desk.clock.advance(days=29)
    assert desk.stats().json["spam"]["next_deletion_at"] == stored_expiry(second)
    # Approved, the second leaves the queue: nothing is kept.
    assert desk.decide(second, "approve", version=1).status == 200
    assert desk.stats().json["spam"] == nothing
    assert set(desk.stats().json["queues"]) == {"pending", "reported"}


def test_spam_is_claimed_like_any_queue(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    first = caught(email="one@example.org")
    second = caught(f"Another {BLOCKED} story.", email="two@example.org")

    mine = desk.claim(1, "spam")
    theirs = desk.claim(5, "spam", who="lee")
    blocked = desk.decide(first, "approve", who="lee")

    assert mine.status == 200, mine.text
    assert mine.json["queue"] == "spam"
    assert [i["comment_id"] for i in mine.json["items"]] == [first]
    assert [i["comment_id"] for i in theirs.json["items"]] == [second]
    assert blocked.status == 409
    assert blocked.json["error"]["code"] == "claimed_by_another"


def test_marking_spam_makes_the_persons_index_entry_expire_with_the_comment(desk: Desk) -> None:
    comment_id = waiting("Buy now, cheap.")
    assert "expires_at" not in person_entry(comment_id)

    answer = desk.decide(comment_id, "spam", reason_code="spam")

    assert answer.status == 200, answer.text
    expires_at = stored(comment_id)["expires_at"]
    assert person_entry(comment_id)["expires_at"] == expires_at
    # A moderator's own decision: the spam queue holds what the defences caught.
    assert desk.queue("spam").json["items"] == []


def test_a_parent_erased_while_its_reply_is_rescued_is_a_409_and_then_it_goes_through(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convene.comments import table
    from convene.settings import get_settings

    parent = waiting("Who else runs a fundraiser?")
    desk.decide(parent, "approve")
    desk.call("put_block", body={"kind": "word", "value": BLOCKED})
    reply = caught(f"We ran a {BLOCKED} night.", parent_id=parent)
    read = table.get_comment

    def read_then_erase(comment_id: str, **kw: Any) -> dict[str, Any] | None:
        found = read(comment_id, **kw)
        if comment_id == parent:  # the parent is erased between the read and the write
            main = boto3.resource("dynamodb", region_name="eu-west-2").Table(
                get_settings().table_name
            )
            main.delete_item(Key={"pk": f"COMMENT#{parent}", "sk": "COMMENT"})
        return found

    monkeypatch.setattr(table, "get_comment", read_then_erase)
    raced = desk.decide(reply, "approve")
    monkeypatch.undo()
    again = desk.decide(reply, "approve")

    assert raced.status == 409, raced.text
    assert raced.json["error"]["code"] == "changed_meanwhile"
    assert again.status == 200, again.text  # no parent now: nothing to count on
    assert stored(reply)["status"] == "approved"
