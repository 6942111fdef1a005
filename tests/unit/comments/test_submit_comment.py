"""Submitting a comment: who may, on which posts, what comes back (JSON or a form post),
and the trust rule that lets a known member skip the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from convene.comments import service
from convene.comments.models import CommentIn

from tests.unit.comments.conftest import (
    FIRST_COMMENT,
    GUEST,
    MODERATOR,
    POST_ID,
    POST_URL,
    Api,
    member,
    member_history,
    publish,
    stored,
)


def test_a_guest_comment_waits_for_a_moderator_and_is_not_listed(api: Api) -> None:
    answer = api.submit({**GUEST, "body": FIRST_COMMENT})

    assert answer.status == 202
    assert answer.json["status"] == "pending"
    assert answer.json["comment"] is None
    assert api.list().json["comments"] == []
    assert stored(answer.json["comment_id"])["status"] == "pending"


def test_a_form_post_answers_303_back_to_the_post(api: Api) -> None:
    answer = api.submit(
        form={**GUEST, "body": FIRST_COMMENT, "parent_id": "", "notify": "on", "website": ""}
    )

    assert answer.status == 303
    assert answer.headers["Location"] == f"{POST_URL}?comment=pending#comments"
    assert answer.text == ""


def test_a_form_post_carries_the_same_fields_as_json(api: Api) -> None:
    answer = api.submit(form={**GUEST, "body": FIRST_COMMENT, "notify": "on"})

    pending = service.list_queue("pending").items
    assert answer.status == 303
    assert [c.author_name for c in pending] == ["Jo Guest"]
    assert stored(pending[0].comment_id)["notify"] is True


def test_a_form_post_with_a_bad_field_answers_422_naming_it(api: Api) -> None:
    answer = api.submit(form={"name": "Jo Guest", "email": "not-an-address", "body": ""})

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"email", "body"}


def test_a_comment_on_an_unknown_post_is_404(api: Api) -> None:
    answer = api.submit({**GUEST, "body": FIRST_COMMENT}, post_id="no-such-post")

    assert answer.status == 404
    assert answer.json["error"]["code"] == "not_found"


def test_a_comment_on_a_post_with_comments_closed_is_410(api: Api) -> None:
    closed = api.register_post(
        POST_ID, {"title": "This is your Community Space", "url": POST_URL, "comments_open": False}
    )
    assert closed.status == 200

    answer = api.submit({**GUEST, "body": FIRST_COMMENT})

    assert answer.status == 410
    assert answer.json["error"]["code"] == "comments_closed"


def test_a_guest_must_give_a_name_and_an_email(api: Api) -> None:
    answer = api.submit({"body": FIRST_COMMENT})

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"name", "email"}


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n  "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"email": "jo.guest(at)example.org"}, "email"),
        ({"email": "jö@exämple.org"}, "email"),
        ({"name": "jo.guest@example.org"}, "name"),
        ({"parent_id": "not a valid id!"}, "parent_id"),
        ({"notify": "perhaps"}, "notify"),
    ],
)
def test_each_bad_field_is_named_in_a_422(api: Api, fields: dict[str, str], bad: str) -> None:
    answer = api.submit({**GUEST, "body": FIRST_COMMENT, **fields})

    assert answer.status == 422
    assert answer.json["error"]["code"] == "validation_failed"
    assert bad in answer.json["error"]["fields"]


def test_a_body_of_exactly_5000_characters_is_accepted(api: Api) -> None:
    answer = api.submit({**GUEST, "body": "a" * 5000})

    assert answer.status == 202


def test_malformed_json_is_400_not_500(api: Api) -> None:
    answer = api.submit(body="{not json")  # type: ignore[arg-type]

    assert answer.status == 400
    assert answer.json["error"]["code"] == "malformed"


def test_a_members_name_and_email_come_from_the_token(api: Api) -> None:
    answer = api.submit(
        {"name": "Someone Else", "email": "someone.else@example.org", "body": FIRST_COMMENT},
        token="token-sam",
    )

    comment = stored(answer.json["comment_id"])
    assert answer.status == 202
    assert comment["author_name"] == "Sam Okafor"
    assert comment["author_email"] == "sam.member@example.net"
    assert comment["by_member"] is True
    assert comment["member_sub"] == "8d7e6f5a-member-sam"


def test_an_invalid_token_is_refused_rather_than_ignored(api: Api) -> None:
    answer = api.submit({**GUEST, "body": FIRST_COMMENT}, token="forged-token")

    assert answer.status == 401


def test_a_reply_to_a_comment_that_is_not_published_is_422(api: Api) -> None:
    pending = api.submit({**GUEST, "body": FIRST_COMMENT}).json["comment_id"]

    answer = api.submit(
        {"name": "Kim", "email": "kim@example.org", "body": "Agreed!", "parent_id": pending}
    )

    assert answer.status == 422
    assert "parent_id" in answer.json["error"]["fields"]


def test_a_reply_to_a_comment_on_another_post_is_422(api: Api) -> None:
    api.register_post(
        "planning-the-autumn-series",
        {
            "title": "Planning the autumn series",
            "url": "https://community.example.org/blog/planning-the-autumn-series",
        },
    )
    elsewhere = publish(post_id="planning-the-autumn-series")

    answer = api.submit({**GUEST, "body": "Replying here", "parent_id": elsewhere})

    assert answer.status == 422
    assert "parent_id" in answer.json["error"]["fields"]


def test_a_member_with_two_approved_comments_and_no_rejection_is_published_at_once(
    api: Api,
) -> None:
    member_history("token-sam", approved=2)

    answer = api.submit({"body": "Looking forward to the next one."}, token="token-sam")

    assert answer.status == 201
    assert answer.json["status"] == "approved"
    assert answer.json["comment"]["author_name"] == "Sam Okafor"
    listed = [c["comment_id"] for c in api.list().json["comments"]]
    assert answer.json["comment_id"] in listed
    assert api.list().json["count"] == 3


def test_a_trusted_members_form_post_returns_to_their_comment(api: Api) -> None:
    member_history("token-sam", approved=2)

    answer = api.submit(form={"body": "Looking forward to the next one."}, token="token-sam")

    assert answer.status == 303
    assert "?comment=approved#comment-" in answer.headers["Location"]


def test_a_member_with_one_approved_comment_still_waits(api: Api) -> None:
    member_history("token-sam", approved=1)

    answer = api.submit({"body": "Looking forward to the next one."}, token="token-sam")

    assert answer.status == 202
    assert answer.json["status"] == "pending"


def test_a_rejection_in_the_last_90_days_means_the_member_waits(api: Api) -> None:
    member_history("token-sam", approved=2)
    rejected = service.submit_comment(
        POST_ID, CommentIn(body="Buy my course!"), member=member("token-sam"), source_ip=None
    )
    service.apply_decision(
        rejected.comment_id,
        "reject",
        expected_version=1,
        moderator=MODERATOR,
        reason_code="advertising",
    )

    answer = api.submit({"body": "Sorry about that, here is a real thought."}, token="token-sam")

    assert answer.json["status"] == "pending"


def test_a_rejection_older_than_90_days_no_longer_counts(api: Api) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=120)
    rejected = service.submit_comment(
        POST_ID,
        CommentIn(body="Buy my course!"),
        member=member("token-sam"),
        source_ip=None,
        now=long_ago,
    )
    service.apply_decision(
        rejected.comment_id,
        "reject",
        expected_version=1,
        moderator=MODERATOR,
        reason_code="advertising",
        now=long_ago,
    )
    member_history("token-sam", approved=2)

    answer = api.submit({"body": "A real thought, months later."}, token="token-sam")

    assert answer.json["status"] == "approved"


def test_a_guest_with_approved_comments_still_waits(api: Api) -> None:
    publish(email="jo.guest@example.org", name="Jo Guest")
    publish("A second approved comment.", email="jo.guest@example.org", name="Jo Guest")

    answer = api.submit({**GUEST, "body": "A third comment."})

    assert answer.json["status"] == "pending"


def test_with_the_trust_rule_off_every_member_waits(
    api: Api, comment_config: pytest.MonkeyPatch
) -> None:
    member_history("token-sam", approved=2)
    comment_config.setenv("COMMENTS_TRUST_RULE", "off")
    from convene.comments import policy

    policy.reset()

    answer = api.submit({"body": "Looking forward to the next one."}, token="token-sam")

    assert answer.json["status"] == "pending"


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(api: Api) -> None:
    headers = {"Idempotency-Key": "4c1e7d2a-submit-once"}
    body = {**GUEST, "body": FIRST_COMMENT}

    first = api.submit(body, headers=headers)
    retry = api.submit(body, headers=headers)

    assert first.status == retry.status == 202
    assert retry.json == first.json
    assert len(service.list_queue("pending").items) == 1


def test_invisible_controls_are_dropped_but_emoji_sequences_stay() -> None:
    comment = CommentIn(
        name="Jo\u202e Guest\u200b",
        email="jo.guest@example.org",
        body="Family day \U0001f468\u200d\U0001f469\u200d\U0001f467\x00 \u202egnp.exe",
    )

    assert comment.name == "Jo Guest"
    assert comment.body == "Family day \U0001f468\u200d\U0001f469\u200d\U0001f467 gnp.exe"


def test_a_post_registered_on_another_site_returns_form_posts_to_the_home_page(
    api: Api,
) -> None:
    api.register_post("elsewhere", {"title": "Elsewhere", "url": "https://evil.example/post"})

    answer = api.submit(form={**GUEST, "body": FIRST_COMMENT}, post_id="elsewhere")

    assert answer.status == 303
    assert answer.headers["Location"] == ("https://community.example.org/?comment=pending#comments")
