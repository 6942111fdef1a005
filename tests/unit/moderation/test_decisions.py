"""POST /moderation/comments/{commentId}/decision: approve, reject or spam, guarded by
the version the moderator saw and by other moderators' live leases."""

from __future__ import annotations

from tests.unit.moderation.conftest import PEOPLE, Desk, main_items, outbox, report, waiting


def test_approving_publishes_the_comment_and_counts_it(desk: Desk) -> None:
    comment_id = waiting("Thank you for starting this space.")

    answer = desk.decide(comment_id, "approve", version=1)

    assert answer.status == 200, answer.text
    assert answer.json == {
        "comment_id": comment_id,
        "action": "approve",
        "status": "approved",
        "version": 2,
        "decided_at": answer.json["decided_at"],
    }
    page = desk.public_page()
    assert page["count"] == 1
    assert [c["comment_id"] for c in page["comments"]] == [comment_id]
    assert desk.queue().json["items"] == []


def test_approving_sends_the_notice_the_author_asked_for(desk: Desk) -> None:
    comment_id = waiting("Please tell me when this is up.", email="ana@example.org", notify=True)
    assert not [m for m in outbox() if m["kind"] == "comment_published"]

    desk.decide(comment_id, "approve")

    sent = [m for m in outbox() if m["kind"] == "comment_published"]
    assert [m["to"] for m in sent] == ["ana@example.org"]
    assert sent[0]["pk"] == f"MSG#COMMENT#{comment_id}#published"


def test_the_parents_author_hears_of_a_reply_only_once_it_is_approved(desk: Desk) -> None:
    parent = waiting("Who else runs a group?", email="ana@example.org", notify=True)
    desk.decide(parent, "approve")
    reply = waiting("We do, in Leeds.", name="Ben", email="ben@example.org", parent_id=parent)

    assert not [m for m in outbox() if m["kind"] == "comment_reply"]
    desk.decide(reply, "approve")

    replies = [m for m in outbox() if m["kind"] == "comment_reply"]
    assert [m["to"] for m in replies] == ["ana@example.org"]
    assert replies[0]["data"]["reply_author"] == "Ben"


def test_rejecting_needs_a_reason_code_from_the_policy(desk: Desk) -> None:
    comment_id = waiting("Buy my course.")

    missing = desk.decide(comment_id, "reject")
    unknown = desk.decide(comment_id, "reject", reason_code="boring")
    done = desk.decide(comment_id, "reject", reason_code="advertising", note="Third time")

    assert missing.status == 422 and "reason_code" in missing.json["error"]["fields"]
    assert unknown.status == 422 and "reason_code" in unknown.json["error"]["fields"]
    assert done.status == 200 and done.json["status"] == "rejected"
    assert desk.public_page()["count"] == 0


def test_marking_spam_needs_a_reason_too(desk: Desk) -> None:
    comment_id = waiting("Cheap watches.")

    assert desk.decide(comment_id, "spam").status == 422
    assert desk.decide(comment_id, "spam", reason_code="spam").json["status"] == "spam"


def test_deciding_on_a_comment_another_moderator_holds_is_409(desk: Desk) -> None:
    comment_id = waiting("Held by Priya.")
    desk.claim(1, who="priya")

    answer = desk.decide(comment_id, "approve", who="lee")

    assert answer.status == 409
    assert answer.json["error"]["code"] == "claimed_by_another"
    assert "Priya Shah" in answer.json["error"]["message"]
    assert PEOPLE["priya"]["email"] not in answer.text
    assert desk.decide(comment_id, "approve", who="priya").status == 200


def test_once_the_lease_has_run_out_another_moderator_may_decide(desk: Desk) -> None:
    comment_id = waiting("Held by Priya, then forgotten.")
    desk.claim(1, who="priya")
    desk.clock.advance(minutes=11)

    answer = desk.decide(comment_id, "reject", who="lee", reason_code="off_topic")

    assert answer.status == 200
    stored = next(
        i for i in main_items() if i["pk"] == f"COMMENT#{comment_id}" and i["sk"] == "COMMENT"
    )
    assert "claimed_by" not in stored and "lease_until" not in stored


def test_a_decision_on_a_stale_version_is_409_already_decided(desk: Desk) -> None:
    comment_id = waiting("Two moderators looked at this.")
    desk.decide(comment_id, "approve", version=1, who="priya")

    answer = desk.decide(comment_id, "reject", version=1, who="lee", reason_code="off_topic")
    again = desk.decide(comment_id, "approve", who="lee")

    assert answer.status == 409 and answer.json["error"]["code"] == "already_decided"
    assert again.status == 409 and again.json["error"]["code"] == "already_decided"
    assert desk.public_page()["count"] == 1


def test_an_unknown_comment_is_404(desk: Desk) -> None:
    assert desk.decide("0f0f0f0f0f0f0f0f0f0f0f0f", "approve").status == 404


def test_a_reported_comment_can_be_kept(desk: Desk) -> None:
    comment_id = waiting("A fair point, strongly put.")
    desk.decide(comment_id, "approve")
    for _ in range(3):  # enough reports to hide it
        report(comment_id, "abusive")
    assert desk.public_page()["count"] == 0
    version = desk.queue("reported").json["items"][0]["version"]

    answer = desk.decide(comment_id, "approve", version=version, note="Robust but fair")

    assert answer.status == 200 and answer.json["status"] == "approved"
    assert desk.public_page()["count"] == 1
    assert desk.queue("reported").json["items"] == []
    assert not [m for m in outbox() if m["kind"] == "comment_published" and comment_id in m["pk"]]


def test_a_reported_comment_can_be_rejected(desk: Desk) -> None:
    comment_id = waiting("Something readers found abusive.")
    desk.decide(comment_id, "approve")
    report(comment_id, "abusive", "Insults another reader")

    answer = desk.decide(comment_id, "reject", reason_code="abusive")

    assert answer.status == 200 and answer.json["status"] == "rejected"
    assert desk.public_page()["count"] == 0
    assert desk.queue("reported").json["items"] == []


def test_a_retried_decision_with_an_idempotency_key_answers_the_same(desk: Desk) -> None:
    comment_id = waiting("Sent twice by a flaky network.")
    headers = {"Idempotency-Key": "decision-7f3a"}

    first = desk.call(
        "decision", comment_id=comment_id, body={"action": "approve"}, headers=headers
    )
    second = desk.call(
        "decision", comment_id=comment_id, body={"action": "approve"}, headers=headers
    )

    assert first.status == second.status == 200
    assert first.json == second.json
    audits = [
        i
        for i in main_items()
        if i["pk"] == f"COMMENT#{comment_id}" and i["sk"].startswith("AUDIT#")
    ]
    assert [a["action"] for a in audits] == ["submitted", "approve"]


def test_a_decision_costs_two_reads_at_most_and_one_transaction(
    desk: Desk, ddb_calls: list[str]
) -> None:
    comment_id = waiting("Counting calls.")
    ddb_calls.clear()

    desk.decide(comment_id, "reject", reason_code="off_topic")

    assert ddb_calls == ["GetItem", "TransactWriteItems"]
