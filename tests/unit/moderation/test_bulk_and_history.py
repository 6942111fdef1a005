"""POST /moderation/decisions (up to 25, each answered on its own) and the audit trail
(GET /moderation/comments/{commentId}/history: append-only, who, when, why)."""

from __future__ import annotations

import pytest
from convene.comments import table as comments_table
from convene.db import TransactionCancelled, transact_write

from tests.unit.moderation.conftest import PEOPLE, Desk, main_items, report, waiting


def test_many_decisions_are_each_answered_on_their_own(desk: Desk) -> None:
    held_by_lee, reject, no_reason = waiting("Lee's."), waiting("Off topic."), waiting("Hmm.")
    desk.claim(1, who="lee")

    answer = desk.call(
        "decisions",
        body={
            "decisions": [
                {"comment_id": held_by_lee, "action": "approve"},
                {"comment_id": reject, "action": "reject", "reason_code": "off_topic"},
                {"comment_id": no_reason, "action": "reject"},
                {"comment_id": "0f0f0f0f0f0f0f0f0f0f0f0f", "action": "approve"},
                {"comment_id": reject, "action": "reject", "reason_code": "off_topic"},
            ]
        },
    )

    assert answer.status == 207, answer.text
    results = answer.json["results"]
    assert [(r["comment_id"], r["status"]) for r in results] == [
        (held_by_lee, 409),
        (reject, 200),
        (no_reason, 422),
        ("0f0f0f0f0f0f0f0f0f0f0f0f", 404),
        (reject, 409),
    ]
    assert results[0]["error"]["code"] == "claimed_by_another"
    assert results[1]["result"]["status"] == "rejected"
    assert results[4]["error"]["code"] == "already_decided"
    assert answer.json["applied"] == 1


def test_at_most_twenty_five_decisions_in_one_call(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(26)]
    decisions = [{"comment_id": i, "action": "approve"} for i in ids]

    too_many = desk.call("decisions", body={"decisions": decisions})
    enough = desk.call("decisions", body={"decisions": decisions[:25]})

    assert too_many.status == 422
    assert enough.status == 207 and enough.json["applied"] == 25
    assert desk.public_page()["count"] == 25


def test_the_history_says_who_did_what_when_and_why(desk: Desk) -> None:
    comment_id = waiting("Please share the slides.")
    desk.decide(comment_id, "approve", who="priya", note="Useful question")
    report(comment_id, "personal_data")
    desk.clock.advance(minutes=1)
    desk.decide(comment_id, "reject", who="lee", reason_code="personal_data", note="Phone number")

    answer = desk.history(comment_id, who="priya")

    assert answer.status == 200, answer.text
    items = answer.json["items"]
    assert [(i["action"], i["from_status"], i["to_status"], i["version"]) for i in items] == [
        ("submitted", None, "pending", 1),
        ("approve", "pending", "approved", 2),
        ("reject", "approved", "rejected", 3),
    ]
    assert items[0]["moderator"] is None
    assert (items[1]["moderator"], items[1]["moderator_id"]) == (
        "Priya Shah",
        PEOPLE["priya"]["sub"],
    )
    assert items[1]["note"] == "Useful question"
    assert (items[2]["moderator"], items[2]["reason_code"], items[2]["note"]) == (
        "Lee Walker",
        "personal_data",
        "Phone number",
    )
    assert items[1]["at"] < items[2]["at"]
    assert PEOPLE["lee"]["email"] not in answer.text


def test_the_history_only_grows(desk: Desk) -> None:
    comment_id = waiting("Thanks!")
    before = desk.history(comment_id).json["items"]
    desk.decide(comment_id, "approve")

    after = desk.history(comment_id).json["items"]

    assert after[: len(before)] == before
    assert len(after) == len(before) + 1


def test_an_existing_audit_record_is_never_overwritten(desk: Desk) -> None:
    comment_id = waiting("Thanks!")
    desk.decide(comment_id, "approve")
    record = next(
        i
        for i in main_items()
        if i["pk"] == f"COMMENT#{comment_id}" and i.get("action") == "approve"
    )
    at, version = record["sk"].split("#")[1], int(record["sk"].split("#")[2])

    with pytest.raises(TransactionCancelled):
        transact_write([comments_table.audit_entry(comment_id, at, version, {"action": "forged"})])

    assert desk.history(comment_id).json["items"][1]["action"] == "approve"


def test_the_history_of_an_unknown_comment_is_404(desk: Desk) -> None:
    assert desk.history("0f0f0f0f0f0f0f0f0f0f0f0f").status == 404
