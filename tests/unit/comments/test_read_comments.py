"""Reading: published comments only, oldest first, threaded to depth 3, a page of threads
at a time, and counts for many posts in one call."""

from __future__ import annotations

from typing import Any

import pytest
from convene.comments import policy, service

from tests.unit.comments.conftest import GUEST, MODERATOR, POST_ID, Api, publish


def _ids(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["comment_id"] for n in nodes]


def test_only_approved_comments_are_listed_oldest_first(api: Api) -> None:
    first = publish("The first comment.")
    api.submit({**GUEST, "body": "Still waiting for a moderator."})
    second = publish("The second comment.")
    rejected = api.submit({"name": "Kim", "email": "kim@example.org", "body": "Rejected"})
    service.apply_decision(
        rejected.json["comment_id"],
        "reject",
        expected_version=1,
        moderator=MODERATOR,
        reason_code="off_topic",
    )

    answer = api.list()

    assert answer.status == 200
    assert _ids(answer.json["comments"]) == [first, second]
    assert answer.json["count"] == 2
    assert answer.json["next_cursor"] is None


def test_replies_nest_under_their_parent(api: Api) -> None:
    first = publish("What did everyone think of the July workshop?")
    other = publish("A separate thought.")
    reply = publish("It was great.", parent_id=first)
    reply_to_reply = publish("Agreed, especially the planning part.", parent_id=reply)

    comments = api.list().json["comments"]

    assert _ids(comments) == [first, other]
    assert _ids(comments[0]["replies"]) == [reply]
    assert _ids(comments[0]["replies"][0]["replies"]) == [reply_to_reply]
    nested = comments[0]["replies"][0]["replies"][0]
    assert nested["depth"] == 3
    assert nested["parent_id"] == reply


def test_replies_deeper_than_three_attach_at_depth_three(api: Api) -> None:
    top = publish("Depth one.")
    two = publish("Depth two.", parent_id=top)
    three = publish("Depth three.", parent_id=two)
    four = publish("Would be depth four.", parent_id=three)
    five = publish("Would be depth five.", parent_id=four)

    level_three = api.list().json["comments"][0]["replies"][0]["replies"]

    assert _ids(level_three) == [three, four, five]
    assert [c["depth"] for c in level_three] == [3, 3, 3]
    assert all(c["replies"] == [] for c in level_three)
    assert level_three[1]["parent_id"] == three  # it still says whom it answers
    assert level_three[2]["parent_id"] == four


def test_replies_within_a_thread_are_oldest_first(api: Api) -> None:
    top = publish("A question.")
    a = publish("First answer.", parent_id=top)
    b = publish("Second answer.", parent_id=top)
    a1 = publish("Reply to the first answer.", parent_id=a)
    c = publish("Third answer.", parent_id=top)

    thread = api.list().json["comments"][0]

    assert _ids(thread["replies"]) == [a, b, c]
    assert _ids(thread["replies"][0]["replies"]) == [a1]


def test_pages_of_threads_follow_the_cursor_to_the_end(api: Api) -> None:
    threads = [publish(f"Thread {n}.") for n in range(5)]
    reply = publish("A reply in the second thread.", parent_id=threads[1])

    first = api.list(limit="2")
    second = api.list(limit="2", cursor=first.json["next_cursor"])
    third = api.list(limit="2", cursor=second.json["next_cursor"])

    assert _ids(first.json["comments"]) == threads[:2]
    assert _ids(first.json["comments"][1]["replies"]) == [reply]
    assert _ids(second.json["comments"]) == threads[2:4]
    assert _ids(third.json["comments"]) == threads[4:]
    assert third.json["next_cursor"] is None
    assert first.json["count"] == second.json["count"] == 6


def test_a_thread_longer_than_a_page_goes_on_at_the_top_of_the_next(
    api: Api, monkeypatch: pytest.MonkeyPatch, ddb_calls: list[str]
) -> None:
    threads = [publish(f"Thread {n}.") for n in range(3)]
    replies = [publish(f"Reply {n}.", parent_id=threads[0]) for n in range(4)]
    # At most three comments a page, so the first thread (five comments) is split.
    pages = policy.get_config().pages.model_copy(update={"comments_per_query": 3})
    config = policy.get_config().model_copy(update={"pages": pages})
    monkeypatch.setattr(service, "get_config", lambda: config)
    ddb_calls.clear()

    page = service.list_comments(POST_ID)
    rest = service.list_comments(POST_ID, cursor=page.next_cursor)
    last = service.list_comments(POST_ID, cursor=rest.next_cursor)

    assert [c.comment_id for c in page.comments] == threads[:1]
    assert [c.comment_id for c in page.comments[0].replies] == replies[:2]
    # The rest of the thread opens the next page, each reply saying whom it answers, and
    # the next whole thread fills the page.
    assert [c.comment_id for c in rest.comments] == [*replies[2:], threads[1]]
    assert [c.parent_id for c in rest.comments] == [threads[0], threads[0], None]
    assert [c.comment_id for c in last.comments] == threads[2:]
    assert last.next_cursor is None
    shown = [c.comment_id for p in (page, rest, last) for c in _walk(p.comments)]
    assert len(shown) == len(set(shown)) == 7
    assert sorted(ddb_calls) == ["GetItem"] * 3 + ["Query"] * 3


def _walk(nodes: list[Any]) -> list[Any]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(node.replies))
    return out


def test_a_bad_cursor_is_422_naming_it(api: Api) -> None:
    answer = api.list(cursor="definitely-not-a-cursor")

    assert answer.status == 422
    assert "cursor" in answer.json["error"]["fields"]


def test_listing_an_unknown_post_is_404(api: Api) -> None:
    assert api.list("no-such-post").status == 404


def test_counts_for_fifty_posts_take_one_batch_get(api: Api, ddb_calls: list[str]) -> None:
    post_ids = [f"community-space-notes-{n:02d}" for n in range(49)] + [POST_ID]
    publish()
    publish("Another one.")
    ddb_calls.clear()

    answer = api.counts(*post_ids)

    assert answer.status == 200
    assert ddb_calls == ["BatchGetItem"]
    assert len(answer.json["counts"]) == 50
    assert answer.json["counts"][POST_ID] == 2
    assert answer.json["counts"]["community-space-notes-00"] == 0


def test_counts_for_more_than_fifty_posts_is_422(api: Api) -> None:
    answer = api.counts(*[f"post-{n}" for n in range(51)])

    assert answer.status == 422
    assert "post" in answer.json["error"]["fields"]


def test_counts_without_a_post_is_422(api: Api) -> None:
    answer = api.counts()

    assert answer.status == 422
    assert "post" in answer.json["error"]["fields"]


def test_counts_name_the_same_post_once(api: Api) -> None:
    publish()

    answer = api.counts(POST_ID, POST_ID)

    assert answer.json["counts"] == {POST_ID: 1}
