"""Each spam defence on its own: the honeypot, the block list, rate limits per email and
per address, the duplicate rule and the link limit."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from convene.comments import policy, service
from convene.comments.models import BlockIn

from tests.unit.comments.conftest import (
    FIRST_COMMENT,
    GUEST,
    MODERATOR,
    POST_ID,
    Api,
    main_items,
    member_history,
    stored,
)


def test_a_honeypot_hit_is_stored_as_spam_and_answered_like_any_comment(api: Api) -> None:
    normal = api.submit({"name": "Kim", "email": "kim@example.org", "body": "A real comment."})
    bot = api.submit(
        {**GUEST, "body": "Great post! Visit my site", "website": "http://spam.example"}
    )

    assert bot.status == normal.status == 202
    assert set(bot.json) == set(normal.json)
    assert bot.json["status"] == "pending"
    comment = stored(bot.json["comment_id"])
    assert comment["status"] == "spam"
    assert comment["spam_reason"] == "honeypot"
    assert "expires_at" in comment  # spam is not kept for ever
    assert [c.comment_id for c in service.list_queue("pending").items] == [
        normal.json["comment_id"]
    ]


def test_a_honeypot_hit_by_form_post_also_answers_303(api: Api) -> None:
    answer = api.submit(form={**GUEST, "body": "Cheap pills", "website": "pills.example"})

    assert answer.status == 303
    assert "comment=pending" in answer.headers["Location"]


@pytest.mark.parametrize(
    ("block", "comment"),
    [
        (
            BlockIn(kind="email", value="Spammer@Example.org"),
            {"name": "Spammer", "email": "spammer@example.org", "body": "Hello there"},
        ),
        (
            BlockIn(kind="domain", value="spam.example"),
            {"name": "Robot", "email": "robot@mail.spam.example", "body": "Hello there"},
        ),
        (
            BlockIn(kind="word", value="casino"),
            {"name": "Pat", "email": "pat@example.org", "body": "Try the new CASINO tonight!"},
        ),
    ],
    ids=["email", "domain", "word"],
)
def test_a_blocked_email_domain_or_word_goes_quietly_to_spam(
    api: Api, block: BlockIn, comment: dict[str, str]
) -> None:
    service.add_block(block, moderator=MODERATOR)

    answer = api.submit(comment)

    assert answer.status == 202
    assert answer.json["status"] == "pending"
    assert stored(answer.json["comment_id"])["spam_reason"] == f"blocked_{block.kind}"


def test_a_blocked_word_matches_whole_words_only(api: Api) -> None:
    service.add_block(BlockIn(kind="word", value="ass"), moderator=MODERATOR)

    answer = api.submit({**GUEST, "body": "The class was a great success."})

    assert stored(answer.json["comment_id"])["status"] == "pending"


def test_blocks_can_be_listed_and_removed_and_emails_are_never_stored_plainly(api: Api) -> None:
    service.add_block(BlockIn(kind="email", value="spammer@example.org"), moderator=MODERATOR)
    service.add_block(BlockIn(kind="domain", value="@Spam.Example"), moderator=MODERATOR)

    listed = {(b.kind, b.value) for b in service.list_blocks()}
    service.remove_block("email", "SPAMMER@example.org")
    after = {(b.kind, b.value) for b in service.list_blocks()}

    assert listed == {("email", "s***@example.org"), ("domain", "spam.example")}
    assert after == {("domain", "spam.example")}
    assert "spammer@example.org" not in json.dumps(main_items(), default=str)


def test_an_invalid_block_is_422_naming_the_value() -> None:
    from convene.errors import Invalid

    with pytest.raises(Invalid) as caught:
        service.add_block(BlockIn(kind="domain", value="not a domain"), moderator=MODERATOR)

    assert "value" in caught.value.fields


def test_too_many_comments_from_one_email_is_429_with_retry_after(
    api: Api, held_clock: datetime
) -> None:
    for n in range(5):
        ok = api.submit({**GUEST, "body": f"Thought number {n} about the workshop."})
        assert ok.status == 202

    answer = api.submit({**GUEST, "body": "One thought too many."})

    assert answer.status == 429
    assert answer.json["error"]["code"] == "too_many_requests"
    assert int(answer.headers["Retry-After"]) == _until_window_ends(held_clock, 3600)


def test_too_many_comments_from_one_address_is_429_with_retry_after(
    api: Api, held_clock: datetime
) -> None:
    for n in range(10):
        ok = api.submit(
            {"name": f"Reader {n}", "email": f"reader{n}@example.org", "body": "Hello"},
            ip="203.0.113.7",
        )
        assert ok.status == 202

    answer = api.submit(
        {"name": "Reader 11", "email": "reader11@example.org", "body": "Hello"}, ip="203.0.113.7"
    )

    assert answer.status == 429
    assert int(answer.headers["Retry-After"]) == _until_window_ends(held_clock, 600)


def _until_window_ends(moment: datetime, seconds: int) -> int:
    """Seconds from `moment` to the end of its fixed window (at least 1)."""
    epoch = int(moment.timestamp())
    return max(1, seconds - epoch % seconds)


def test_the_address_is_stored_only_as_a_keyed_hash_that_expires(api: Api) -> None:
    api.submit({**GUEST, "body": FIRST_COMMENT}, ip="203.0.113.7")

    items = main_items()
    ip_counters = [i for i in items if str(i["pk"]).startswith("RATE#ip#")]

    assert "203.0.113.7" not in json.dumps(items, default=str)
    assert len(ip_counters) == 1
    assert int(ip_counters[0]["expires_at"]) > 0


def test_a_rate_limited_comment_is_not_stored(api: Api, held_clock: datetime) -> None:
    for n in range(5):
        api.submit({**GUEST, "body": f"Thought number {n}."})

    api.submit({**GUEST, "body": "One thought too many."})

    bodies = [i.get("body") for i in main_items() if i.get("entity") == "comment"]
    assert "One thought too many." not in bodies


def test_the_same_body_from_the_same_email_within_ten_minutes_is_409(api: Api) -> None:
    first = api.submit({**GUEST, "body": FIRST_COMMENT})

    again = api.submit({**GUEST, "body": "  " + FIRST_COMMENT.upper() + "\n"})

    assert first.status == 202
    assert again.status == 409
    assert again.json["error"]["code"] == "duplicate_comment"


def test_the_same_body_from_another_email_is_fine(api: Api) -> None:
    api.submit({**GUEST, "body": FIRST_COMMENT})

    answer = api.submit({"name": "Kim", "email": "kim@example.org", "body": FIRST_COMMENT})

    assert answer.status == 202


def test_the_same_body_after_ten_minutes_is_fine(api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.unit.comments.conftest import guest_comment

    earlier = datetime.now(UTC) - timedelta(minutes=11)
    service.submit_comment(POST_ID, guest_comment(), member=None, source_ip=None, now=earlier)

    answer = api.submit({**GUEST, "body": FIRST_COMMENT})

    assert answer.status == 202


def test_more_links_than_allowed_holds_even_a_trusted_member_with_a_flag(api: Api) -> None:
    member_history("token-sam", approved=2)
    body = "Resources: https://a.example https://b.example https://c.example www.d.example"

    answer = api.submit({"body": body}, token="token-sam")

    assert answer.json["status"] == "pending"
    assert stored(answer.json["comment_id"])["flags"] == ["too_many_links"]
    assert service.list_queue("pending").items[0].flags == ["too_many_links"]


def test_links_up_to_the_limit_are_fine_for_a_trusted_member(api: Api) -> None:
    member_history("token-sam", approved=2)

    answer = api.submit(
        {"body": "See [the notes](https://community.example.org/notes) and https://b.example"},
        token="token-sam",
    )

    assert answer.json["status"] == "approved"


def test_a_blocked_member_is_not_trusted_either(api: Api) -> None:
    member_history("token-sam", approved=2)
    service.add_block(BlockIn(kind="word", value="crypto"), moderator=MODERATOR)

    answer = api.submit({"body": "My crypto tips"}, token="token-sam")

    assert answer.json["status"] == "pending"
    assert stored(answer.json["comment_id"])["status"] == "spam"


def test_a_deployment_sets_how_many_links_a_comment_may_carry(
    api: Api, comment_config: pytest.MonkeyPatch
) -> None:
    comment_config.setenv("COMMENTS_MAX_LINKS", "1")
    policy.reset()
    member_history("token-sam", approved=2)

    one = api.submit({"body": "The slides: https://a.example/slides"}, token="token-sam")
    two = api.submit(
        {"body": "The slides: https://a.example/slides and notes: www.b.example"},
        token="token-sam",
    )

    assert one.json["status"] == "approved"
    assert two.json["status"] == "pending"
    assert stored(two.json["comment_id"])["flags"] == ["too_many_links"]
