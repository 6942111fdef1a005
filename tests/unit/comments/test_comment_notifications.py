"""Emails through the outbox: the author when their comment is published, the parent's
author when a reply is published; only if they asked, and never before approval."""

from __future__ import annotations

from convene.comments import service
from convene.email.outbox import from_item

from tests.unit.comments.conftest import (
    GUEST,
    MODERATOR,
    POST_TITLE,
    POST_URL,
    Api,
    member_history,
    outbox,
    publish,
)


def test_no_email_goes_out_while_a_comment_waits(api: Api) -> None:
    api.submit({**GUEST, "body": "Please tell me when this is up.", "notify": True})

    assert outbox() == []


def test_the_author_who_asked_is_told_when_their_comment_is_published(api: Api) -> None:
    submitted = api.submit({**GUEST, "body": "Please tell me when this is up.", "notify": True})
    comment_id = submitted.json["comment_id"]

    service.apply_decision(comment_id, "approve", expected_version=1, moderator=MODERATOR)

    [message] = [from_item(i) for i in outbox()]
    assert message.kind == "comment_published"
    assert message.to == "jo.guest@example.org"
    assert message.list_kind == "replies"
    assert message.data == {
        "post": {"title": POST_TITLE, "url": POST_URL},
        "comment_url": f"{POST_URL}#comment-{comment_id}",
        "name": "Jo Guest",
    }


def test_an_author_who_did_not_ask_gets_no_email(api: Api) -> None:
    publish(notify=False)

    assert outbox() == []


def test_a_trusted_members_comment_is_announced_in_the_same_transaction(api: Api) -> None:
    member_history("token-sam", approved=2)

    answer = api.submit({"body": "Looking forward to it.", "notify": True}, token="token-sam")

    assert answer.json["status"] == "approved"
    [message] = [from_item(i) for i in outbox()]
    assert (message.kind, message.to) == ("comment_published", "sam.member@example.net")


def test_the_parent_author_hears_of_a_reply_only_once_it_is_approved(api: Api) -> None:
    parent = publish(
        "What did everyone think?", email="sam.member@example.net", name="Sam Okafor", notify=True
    )
    before = len(outbox())
    reply = api.submit(
        {
            "name": "Kim",
            "email": "kim@example.org",
            "body": "It was the best session so far.",
            "parent_id": parent,
        }
    )
    waiting = len(outbox())

    service.apply_decision(
        reply.json["comment_id"], "approve", expected_version=1, moderator=MODERATOR
    )

    messages = [from_item(i) for i in outbox()]
    replies = [m for m in messages if m.kind == "comment_reply"]
    assert before == waiting == 1  # only the parent's own "published" email so far
    assert len(replies) == 1
    assert replies[0].to == "sam.member@example.net"
    assert replies[0].list_kind == "replies"
    assert replies[0].data["reply_author"] == "Kim"
    assert replies[0].data["reply_excerpt"] == "It was the best session so far."
    assert replies[0].data["comment_url"] == f"{POST_URL}#comment-{reply.json['comment_id']}"


def test_a_parent_author_who_did_not_ask_hears_nothing(api: Api) -> None:
    parent = publish("What did everyone think?", notify=False)

    publish("A reply.", parent_id=parent)

    assert [i for i in outbox() if i["kind"] == "comment_reply"] == []


def test_nobody_is_told_of_their_own_reply(api: Api) -> None:
    parent = publish("What did everyone think?", email="jo.guest@example.org", notify=True)

    publish("Answering myself.", parent_id=parent, email="JO.GUEST@example.org")

    assert [i for i in outbox() if i["kind"] == "comment_reply"] == []


def test_approving_again_after_reports_sends_nothing_twice(api: Api) -> None:
    comment_id = publish("Tell me when it is up.", notify=True)
    api.report(comment_id, {"reason": "off_topic"})

    service.apply_decision(comment_id, "approve", expected_version=2, moderator=MODERATOR)

    assert len(outbox()) == 1
