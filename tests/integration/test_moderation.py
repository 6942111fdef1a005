"""Moderation over HTTP against the twin: the demo moderators Jonah and Mei work the same
queue at once with real Cognito tokens, and a member is refused."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.fill_queue import fill_queue
from tests.integration.twin import Twin

POST_ID = "this-is-your-community-space"


def _waiting(twin: Twin, count: int) -> list[str]:
    """Guest comments held for review, each from its own reader (the gateway gives every
    request the same address, so they go through the comments service as the Comments
    function would: tests/browser/fill_queue.py)."""
    return fill_queue(twin, count, f"moderation-{uuid.uuid4().hex[:6]}", post=POST_ID)


def test_two_moderators_working_the_same_queue_never_get_the_same_comment(twin: Twin) -> None:
    _waiting(twin, 8)
    headers = {role: twin.headers(role) for role in ("moderator", "moderator2")}

    def claim(role: str, count: int) -> list[str]:
        answer = twin.post(
            "/moderation/claims", json={"queue": "pending", "count": count}, headers=headers[role]
        )
        assert answer.status_code == 200, answer.text
        return [item["comment_id"] for item in answer.json()["items"]]

    # Turn about, each topping up a batch (the concurrent proof is against DynamoDB Local,
    # tests/concurrency: the twin runs functions as threads of one process, and Powertools
    # keeps the current event on its router class, so truly simultaneous requests there
    # could see each other's events).
    jonah, mei = claim("moderator", 2), claim("moderator2", 2)
    jonah, mei = claim("moderator", 4), claim("moderator2", 4)

    assert len(jonah) == len(mei) == 4, (jonah, mei)
    assert not set(jonah) & set(mei), f"both hold {set(jonah) & set(mei)}"

    # Mei cannot decide on what Jonah holds; Jonah can, and the rest are decided in bulk.
    taken = twin.post(
        f"/moderation/comments/{jonah[0]}/decision",
        json={"action": "approve"},
        headers=twin.headers("moderator2"),
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["code"] == "claimed_by_another"
    assert "@" not in taken.text
    for role, held in (("moderator", jonah), ("moderator2", mei)):
        for start in range(0, len(held), 25):
            answer = twin.post(
                "/moderation/decisions",
                json={
                    "decisions": [
                        {"comment_id": c, "action": "reject", "reason_code": "other"}
                        for c in held[start : start + 25]
                    ]
                },
                headers=twin.headers(role),
            )
            assert answer.status_code == 207, answer.text
            assert {r["status"] for r in answer.json()["results"]} == {200}
    history = twin.get(
        f"/moderation/comments/{mei[0]}/history", headers=twin.headers("moderator")
    ).json()
    assert history["items"][-1]["action"] == "reject"
    assert history["items"][-1]["moderator"] == "Mei Lin"


def test_a_member_is_refused_every_moderation_route(twin: Twin) -> None:
    member = twin.headers("member")

    answers = [
        twin.get("/moderation/queue", params={"queue": "pending"}, headers=member),
        twin.post("/moderation/claims", json={"queue": "pending", "count": 5}, headers=member),
        twin.get("/moderation/stats", headers=member),
        twin.get("/moderation/blocks", headers=member),
    ]

    assert [a.status_code for a in answers] == [403] * 4
    assert {a.json()["error"]["code"] for a in answers} == {"forbidden"}
    assert twin.get("/moderation/stats").status_code == 401


def test_the_stats_answer_from_the_counters(twin: Twin) -> None:
    answer = twin.get("/moderation/stats", headers=twin.headers("moderator"))

    assert answer.status_code == 200, answer.text
    assert set(answer.json()["queues"]) == {"pending", "reported"}
    assert answer.json()["queues"]["pending"]["depth"] >= 0


def test_a_comment_caught_by_a_block_is_rescued_from_the_spam_queue(twin: Twin) -> None:
    moderator = twin.headers("moderator")
    word = f"spamword{uuid.uuid4().hex[:8]}"
    block = {"kind": "word", "value": word}
    assert twin.put("/moderation/blocks", json=block, headers=moderator).status_code == 200
    try:
        submitted = twin.post(
            f"/posts/{POST_ID}/comments",
            json={
                "name": "Dana Guest",
                "email": f"dana+{uuid.uuid4().hex[:8]}@example.org",
                "body": f"Our {word} evening raised money for the hall.",
            },
        )
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["status"] == "pending"  # answered as any other comment
        comment_id = submitted.json()["comment_id"]

        items: list[dict[str, Any]] = []
        cursor = None
        while True:  # a reused twin may hold older spam: page to the end
            query = {"queue": "spam", "limit": "50", **({"cursor": cursor} if cursor else {})}
            page = twin.get("/moderation/queue", params=query, headers=moderator)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        [item] = [i for i in items if i["comment_id"] == comment_id]
        assert "blocked_word" in item["flags"]
        assert item["expires_at"]

        refused = twin.post(
            f"/moderation/comments/{comment_id}/decision",
            json={"action": "reject", "reason_code": "other"},
            headers=moderator,
        )
        approved = twin.post(
            f"/moderation/comments/{comment_id}/decision",
            json={"action": "approve", "version": item["version"]},
            headers=moderator,
        )

        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "spam_approve_only"
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        history = twin.get(f"/moderation/comments/{comment_id}/history", headers=moderator)
        assert [r["to_status"] for r in history.json()["items"]] == ["spam", "approved"]
    finally:
        assert twin.delete("/moderation/blocks", json=block, headers=moderator).status_code == 204
