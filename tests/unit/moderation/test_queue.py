"""GET /moderation/queue: oldest first, with everything a moderator needs to decide, and
nothing that is not theirs to see (no keyed hash, no IP, no reader's identity)."""

from __future__ import annotations

import re

from tests.unit.moderation.conftest import POST_ID, POST_TITLE, Desk, report, waiting

HASH = re.compile(r"\b[0-9a-f]{32}\b")


def test_the_pending_queue_is_oldest_first_with_the_authors_email(desk: Desk) -> None:
    first = waiting("First thoughts on the workshop.", name="Ana", email="ana@example.org")
    second = waiting("Second thoughts.", name="Ben", email="ben@example.org")

    answer = desk.queue("pending")

    assert answer.status == 200, answer.text
    items = answer.json["items"]
    assert [i["comment_id"] for i in items] == [first, second]
    assert items[0]["author_email"] == "ana@example.org"
    assert items[0]["body"].startswith("First thoughts on the workshop.")
    assert items[0]["post"] == {
        "post_id": POST_ID,
        "title": POST_TITLE,
        "url": f"https://community.example.org/blog/{POST_ID}",
    }
    assert items[0]["queue"] == "pending"
    assert items[0]["waiting_since"]
    assert items[0]["claim"] is None


def test_a_comment_with_too_many_links_shows_the_flag(desk: Desk) -> None:
    links = " ".join(f"https://spam{n}.example/" for n in range(5))
    waiting(f"Look at these {links}")

    item = desk.queue().json["items"][0]

    assert "too_many_links" in item["flags"]


def test_a_reply_shows_the_comment_it_answers_and_the_authors_history(desk: Desk) -> None:
    parent = waiting("Does anyone run sessions online?", name="Ana", email="ana@example.org")
    assert desk.decide(parent, "approve").status == 200
    rejected = waiting("Buy my course", name="Ana", email="ana@example.org")
    assert desk.decide(rejected, "reject", reason_code="advertising").status == 200
    reply = waiting("We do, on Thursdays.", name="Ana", email="ana@example.org", parent_id=parent)

    item = next(i for i in desk.queue().json["items"] if i["comment_id"] == reply)

    assert item["parent"]["comment_id"] == parent
    assert item["parent"]["author_name"] == "Ana"
    assert item["parent"]["body"].startswith("Does anyone run sessions online?")
    assert item["author_history"] == {"approved": 1, "rejected": 1, "spam": 0}


def test_the_reported_queue_shows_each_report_with_its_reason_but_not_the_reader(
    desk: Desk,
) -> None:
    comment_id = waiting("An opinion some readers dislike.")
    desk.decide(comment_id, "approve")
    report(comment_id, "off_topic", "Nothing to do with the post")
    report(comment_id, "abusive")

    answer = desk.queue("reported")

    item = answer.json["items"][0]
    assert item["comment_id"] == comment_id
    assert item["queue"] == "reported"
    assert item["report_count"] == 2
    assert sorted(r["reason"] for r in item["reports"]) == ["abusive", "off_topic"]
    assert "Nothing to do with the post" in [r["note"] for r in item["reports"]]
    assert not HASH.search(answer.text), "a keyed hash (reader, address) leaked"
    assert "REPORT#" not in answer.text and "198.51." not in answer.text


def test_the_queue_pages_with_a_cursor(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(5)]

    first = desk.queue(limit="2").json
    second = desk.queue(limit="2", cursor=first["next_cursor"]).json
    third = desk.queue(limit="2", cursor=second["next_cursor"]).json

    seen = [i["comment_id"] for page in (first, second, third) for i in page["items"]]
    assert seen == ids
    assert third["next_cursor"] is None


def test_a_forged_cursor_or_an_unknown_queue_is_422(desk: Desk) -> None:
    assert desk.queue(cursor="UE9TVCNhbnl0aGluZw").status == 422
    assert desk.queue("archived").status == 422
    assert desk.queue(limit="51").status == 422


def test_no_answer_carries_a_keyed_hash_or_an_ip(desk: Desk) -> None:
    comment_id = waiting("Thank you for the workshop.")
    claimed = desk.claim(3)

    for answer in (desk.queue(), claimed, desk.history(comment_id)):
        assert answer.status == 200
        assert not HASH.search(answer.text)
        assert "email_hash" not in answer.text and "198.51." not in answer.text
