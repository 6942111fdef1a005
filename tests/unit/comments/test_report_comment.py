"""Readers report published comments: one report per reader, the reported queue, and the
threshold that hides a comment until a moderator decides."""

from __future__ import annotations

import json

import pytest
from convene import secrets
from convene.comments import policy, service

from tests.unit.comments.conftest import (
    GUEST,
    MODERATOR,
    POST_URL,
    Api,
    main_items,
    publish,
    stored,
)


def _report_by(api: Api, comment_id: str, n: int, reason: str = "abusive") -> int:
    """A report from the n-th distinct reader (their own address and browser)."""
    return api.report(
        comment_id,
        {"reason": reason},
        ip=f"192.0.2.{n}",
        headers={"User-Agent": f"Mozilla/5.0 reader {n}"},
    ).status


def test_a_report_puts_the_comment_in_the_reported_queue(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")

    answer = api.report(comment_id, {"reason": "abusive", "note": "Rude to other readers"})

    assert answer.status == 202
    assert answer.json == {
        "status": "received",
        "comment_id": comment_id,
        "post_id": "this-is-your-community-space",
    }
    reported = service.list_queue("reported").items
    assert [c.comment_id for c in reported] == [comment_id]
    assert reported[0].report_count == 1
    assert [c["comment_id"] for c in api.list().json["comments"]] == [comment_id]


def test_a_reader_reports_a_comment_only_once(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")
    reader = {"ip": "192.0.2.10", "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux)"}}

    first = api.report(comment_id, {"reason": "abusive"}, **reader)
    again = api.report(comment_id, {"reason": "off_topic"}, **reader)

    assert first.status == 202
    assert again.status == 409
    assert again.json["error"]["code"] == "already_reported"
    assert stored(comment_id)["report_count"] == 1


def test_a_member_is_one_reader_whatever_their_address(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")

    first = api.report(comment_id, {"reason": "abusive"}, token="token-sam", ip="192.0.2.1")
    again = api.report(comment_id, {"reason": "abusive"}, token="token-sam", ip="192.0.2.2")

    assert (first.status, again.status) == (202, 409)


def test_readers_on_one_address_with_different_browsers_each_count(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")

    statuses = [
        api.report(
            comment_id, {"reason": "abusive"}, ip="192.0.2.50", headers={"User-Agent": agent}
        ).status
        for agent in ("Firefox/128.0", "Safari/17.0")
    ]

    assert statuses == [202, 202]


def test_at_the_threshold_the_comment_is_hidden_until_a_moderator_decides(api: Api) -> None:
    kept = publish("A kind comment.")
    reported = publish("You are all wrong about this.")

    statuses = [_report_by(api, reported, n) for n in (1, 2)]
    still_listed = [c["comment_id"] for c in api.list().json["comments"]]
    statuses.append(_report_by(api, reported, 3))
    listing = api.list().json

    assert statuses == [202, 202, 202]
    assert reported in still_listed
    assert [c["comment_id"] for c in listing["comments"]] == [kept]
    assert listing["count"] == 1
    assert api.counts("this-is-your-community-space").json["counts"] == {
        "this-is-your-community-space": 1
    }
    assert stored(reported)["hidden"] is True
    assert [c.comment_id for c in service.list_queue("reported").items] == [reported]


def test_a_hidden_comment_cannot_be_reported_again(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")
    for n in (1, 2, 3):
        _report_by(api, comment_id, n)

    assert _report_by(api, comment_id, 4) == 404


def test_a_moderator_who_keeps_a_hidden_comment_shows_it_again(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")
    for n in (1, 2, 3):
        _report_by(api, comment_id, n)

    service.apply_decision(comment_id, "approve", expected_version=2, moderator=MODERATOR)

    listing = api.list().json
    assert [c["comment_id"] for c in listing["comments"]] == [comment_id]
    assert listing["count"] == 1
    assert service.list_queue("reported").items == []
    assert stored(comment_id)["report_count"] == 0


def test_a_moderator_who_rejects_a_reported_comment_removes_it(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")
    _report_by(api, comment_id, 1)

    service.apply_decision(
        comment_id, "reject", expected_version=2, moderator=MODERATOR, reason_code="abusive"
    )

    assert api.list().json == {
        "post_id": "this-is-your-community-space",
        "count": 0,
        "comments": [],
        "next_cursor": None,
    }
    assert service.list_queue("reported").items == []


def test_a_pending_comment_cannot_be_reported(api: Api) -> None:
    pending = api.submit({**GUEST, "body": "Waiting for a moderator."}).json["comment_id"]

    answer = api.report(pending, {"reason": "spam"})

    assert answer.status == 404


def test_an_unknown_comment_cannot_be_reported(api: Api) -> None:
    assert api.report("0f0f0f0f0f0f0f0f0f0f0f0f", {"reason": "spam"}).status == 404


@pytest.mark.parametrize("body", [{"reason": "boring"}, {}, {"reason": "spam", "note": "x" * 1001}])
def test_a_report_needs_a_policy_reason_code(api: Api, body: dict[str, str]) -> None:
    comment_id = publish()

    answer = api.report(comment_id, body)

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) <= {"reason", "note"}
    assert answer.json["error"]["fields"]


def test_a_form_report_answers_303_to_the_comment(api: Api) -> None:
    comment_id = publish()

    answer = api.report(comment_id, form={"reason": "off_topic", "note": ""})

    assert answer.status == 303
    assert answer.headers["Location"] == f"{POST_URL}?report=received#comment-{comment_id}"


def test_hiding_is_written_to_the_comments_history(api: Api) -> None:
    from tests.unit.comments.conftest import main_items

    comment_id = publish("You are all wrong about this.")
    for n in (1, 2, 3):
        _report_by(api, comment_id, n)

    history = sorted(
        (
            i
            for i in main_items()
            if i["pk"] == f"COMMENT#{comment_id}" and i.get("entity") == "comment_audit"
        ),
        key=lambda i: i["sk"],
    )
    assert [a["action"] for a in history] == ["submitted", "approve", "hidden"]
    assert history[-1]["detail"] == "3 reports"


def test_a_deployment_sets_the_number_of_reports_that_hides_a_comment(
    api: Api, comment_config: pytest.MonkeyPatch
) -> None:
    comment_config.setenv("COMMENTS_REPORT_THRESHOLD", "2")
    policy.reset()
    reported = publish("You are all wrong about this.")

    first = _report_by(api, reported, 1)
    hidden_after_one = stored(reported)["hidden"]
    second = _report_by(api, reported, 2)

    assert (first, second) == (202, 202)
    assert hidden_after_one is False
    assert stored(reported)["hidden"] is True
    assert api.list().json["comments"] == []


def test_a_report_is_kept_under_a_keyed_hash_of_the_reader(api: Api) -> None:
    comment_id = publish("You are all wrong about this.")
    browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)"

    guest = api.report(
        comment_id, {"reason": "abusive"}, ip="192.0.2.77", headers={"User-Agent": browser}
    )
    member = api.report(comment_id, {"reason": "off_topic"}, token="token-sam", ip="192.0.2.78")

    assert (guest.status, member.status) == (202, 202)
    reports = [i for i in main_items() if str(i["sk"]).startswith("REPORT#")]
    readers = {str(r["sk"]).removeprefix("REPORT#") for r in reports}
    assert readers == {
        secrets.keyed_hash(f"guest:192.0.2.77|{browser}", "reader"),
        secrets.keyed_hash("member:8d7e6f5a-member-sam", "reader"),
    }
    stored_text = json.dumps(reports, default=str)
    for raw in ("192.0.2.77", "192.0.2.78", "Macintosh", "8d7e6f5a-member-sam", "sam.member"):
        assert raw not in stored_text
