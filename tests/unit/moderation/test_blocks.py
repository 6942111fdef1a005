"""GET/PUT/DELETE /moderation/blocks: emails (kept as a keyed hash, shown masked), domains
and words; an email block can also reject that author's pending comments."""

from __future__ import annotations

from convene.comments import service as comments
from convene.comments.models import CommentIn

from tests.unit.moderation.conftest import POST_ID, Desk, fresh_ip, waiting


def test_blocks_are_added_listed_and_removed(desk: Desk) -> None:
    added = desk.call("put_block", body={"kind": "domain", "value": "spam.example"})
    desk.call("put_block", body={"kind": "email", "value": "troll@example.net"})
    desk.call("put_block", body={"kind": "word", "value": "casino"})

    listed = desk.call("blocks").json["items"]
    removed = desk.call("remove_block", body={"kind": "word", "value": "casino"})
    again = desk.call("remove_block", body={"kind": "word", "value": "casino"})

    assert added.status == 200, added.text
    assert added.json["block"]["value"] == "spam.example"
    assert added.json["block"]["created_by"] == "Priya Shah"
    assert sorted((b["kind"], b["value"]) for b in listed) == [
        ("domain", "spam.example"),
        ("email", "t***@example.net"),
        ("word", "casino"),
    ]
    assert removed.status == 204
    assert again.status == 404
    assert [b["kind"] for b in desk.call("blocks").json["items"]] == ["domain", "email"]


def test_a_blocked_address_goes_quietly_to_spam(desk: Desk) -> None:
    desk.call("put_block", body={"kind": "email", "value": "troll@example.net"})

    result = comments.submit_comment(
        POST_ID,
        CommentIn(name="Troll", email="troll@example.net", body="You are all wrong."),
        member=None,
        source_ip=fresh_ip(),
    )

    assert result.status == "pending"  # answered as usual...
    assert desk.queue().json["items"] == []  # ...but never waits for a moderator


def test_an_email_block_can_reject_that_authors_pending_comments(desk: Desk) -> None:
    mine = [waiting(f"Spam {n}", email="troll@example.net") for n in range(3)]
    other = waiting("A real comment.")
    desk.claim(1, who="lee")  # Lee holds the oldest: it is left alone

    answer = desk.call(
        "put_block",
        body={
            "kind": "email",
            "value": "Troll@Example.net",
            "reject_pending": True,
            "reason_code": "spam",
            "note": "Same text on every post",
        },
    )

    assert answer.status == 200, answer.text
    assert (answer.json["rejected"], answer.json["skipped"], answer.json["more"]) == (2, 1, False)
    waiting_now = [i["comment_id"] for i in desk.queue().json["items"]]
    assert waiting_now == [mine[0], other]
    history = desk.history(mine[1]).json["items"]
    assert (history[-1]["action"], history[-1]["reason_code"], history[-1]["note"]) == (
        "reject",
        "spam",
        "Same text on every post",
    )
    assert desk.stats().json["queues"]["pending"]["depth"] == 2


def test_rejecting_pending_comments_needs_a_reason_and_an_email_block(desk: Desk) -> None:
    no_reason = desk.call(
        "put_block", body={"kind": "email", "value": "troll@example.net", "reject_pending": True}
    )
    domain = desk.call(
        "put_block",
        body={
            "kind": "domain",
            "value": "spam.example",
            "reject_pending": True,
            "reason_code": "spam",
        },
    )

    assert no_reason.status == 422 and "reason_code" in no_reason.json["error"]["fields"]
    assert domain.status == 422 and "reject_pending" in domain.json["error"]["fields"]
    assert desk.call("blocks").json["items"] == []


def test_a_malformed_block_is_422(desk: Desk) -> None:
    assert desk.call("put_block", body={"kind": "email", "value": "not an address"}).status == 422
    assert desk.call("put_block", body={"kind": "phone", "value": "0123"}).status == 422
