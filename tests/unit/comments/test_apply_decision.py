"""The decision moderation applies: guarded by the version the moderator saw, one
transaction with the post's count, the author's trust record and an audit record."""

from __future__ import annotations

import pytest
from convene.comments import service, table
from convene.db import TransactionCancelled
from convene.errors import Conflict, Invalid, NotFound
from convene.settings import get_settings

from tests.unit.comments.conftest import GUEST, MODERATOR, Api, main_items, stored


def _pending(api: Api, body: str = "Waiting for a moderator.", **fields: str) -> str:
    answer = api.submit({**GUEST, "body": body, **fields})
    comment_id: str = answer.json["comment_id"]
    return comment_id


def test_the_pending_queue_is_oldest_first(api: Api) -> None:
    first = _pending(api, "First.")
    second = _pending(api, "Second.", email="kim@example.org", name="Kim")

    queue = service.list_queue("pending")

    assert [c.comment_id for c in queue.items] == [first, second]
    assert queue.items[0].author_email == "jo.guest@example.org"
    assert queue.items[0].body == "First."


def test_the_queue_pages_with_a_cursor(api: Api) -> None:
    ids = [_pending(api, f"Comment {n}.", email=f"r{n}@example.org") for n in range(3)]

    first = service.list_queue("pending", limit=2)
    rest = service.list_queue("pending", limit=2, cursor=first.next_cursor)

    assert [c.comment_id for c in first.items + rest.items] == ids
    assert rest.next_cursor is None


def test_approving_publishes_the_comment_and_counts_it(api: Api) -> None:
    comment_id = _pending(api)

    decided = service.apply_decision(comment_id, "approve", expected_version=1, moderator=MODERATOR)

    assert decided.status == "approved"
    assert decided.version == 2
    assert api.list().json["count"] == 1
    assert service.list_queue("pending").items == []


def test_a_decision_on_a_stale_version_is_409(api: Api) -> None:
    comment_id = _pending(api)
    service.apply_decision(comment_id, "approve", expected_version=1, moderator=MODERATOR)

    with pytest.raises(Conflict) as caught:
        service.apply_decision(
            comment_id, "reject", expected_version=1, moderator="other-mod", reason_code="off_topic"
        )

    assert caught.value.code == "stale"
    assert stored(comment_id)["status"] == "approved"


def test_the_same_decision_twice_is_409(api: Api) -> None:
    comment_id = _pending(api)
    service.apply_decision(
        comment_id, "spam", expected_version=1, moderator=MODERATOR, reason_code="spam"
    )

    with pytest.raises(Conflict):
        service.apply_decision(
            comment_id, "spam", expected_version=2, moderator=MODERATOR, reason_code="spam"
        )


def test_rejecting_needs_a_policy_reason_code(api: Api) -> None:
    comment_id = _pending(api)

    with pytest.raises(Invalid) as missing:
        service.apply_decision(comment_id, "reject", expected_version=1, moderator=MODERATOR)
    with pytest.raises(Invalid) as unknown:
        service.apply_decision(
            comment_id, "reject", expected_version=1, moderator=MODERATOR, reason_code="boring"
        )

    assert "reason_code" in missing.value.fields
    assert "reason_code" in unknown.value.fields


def test_a_decision_on_an_unknown_comment_is_404(api: Api) -> None:
    with pytest.raises(NotFound):
        service.apply_decision(
            "0f0f0f0f0f0f0f0f0f0f0f0f", "approve", expected_version=1, moderator=MODERATOR
        )


def test_every_decision_writes_an_audit_record(api: Api) -> None:
    comment_id = _pending(api)
    service.apply_decision(comment_id, "approve", expected_version=1, moderator=MODERATOR)
    service.apply_decision(
        comment_id,
        "reject",
        expected_version=2,
        moderator="mod-lee",
        reason_code="personal_data",
        note="Shares a phone number",
    )

    audit = sorted(
        (
            i
            for i in main_items()
            if i["pk"] == f"COMMENT#{comment_id}" and i.get("entity") == "comment_audit"
        ),
        key=lambda i: i["sk"],
    )

    assert [
        (a["action"], a.get("from_status"), a["to_status"], a.get("moderator")) for a in audit
    ] == [
        ("submitted", None, "pending", None),
        ("approve", "pending", "approved", MODERATOR),
        ("reject", "approved", "rejected", "mod-lee"),
    ]
    assert audit[2]["reason_code"] == "personal_data"
    assert audit[2]["note"] == "Shares a phone number"
    assert api.list().json["count"] == 0


def test_a_failing_extra_item_cancels_the_whole_decision(api: Api) -> None:
    comment_id = _pending(api)
    claim_check = {
        "ConditionCheck": {
            "TableName": get_settings().table_name,
            "Key": {"pk": {"S": f"CLAIM#{comment_id}"}, "sk": {"S": "CLAIM"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }

    with pytest.raises(TransactionCancelled):
        service.apply_decision(
            comment_id,
            "approve",
            expected_version=1,
            moderator=MODERATOR,
            extra_items=[claim_check],
        )

    assert stored(comment_id)["status"] == "pending"
    assert stored(comment_id)["version"] == 1


def test_a_rejection_is_remembered_for_the_trust_rule(api: Api) -> None:
    answer = api.submit({"body": "Buy my course"}, token="token-sam")

    service.apply_decision(
        answer.json["comment_id"],
        "reject",
        expected_version=1,
        moderator=MODERATOR,
        reason_code="advertising",
    )

    record = table.get_member_stats("8d7e6f5a-member-sam")
    assert record is not None
    assert record["last_rejected_at"]


def test_marking_spam_lets_the_comment_expire(api: Api) -> None:
    comment_id = _pending(api)

    service.apply_decision(
        comment_id, "spam", expected_version=1, moderator=MODERATOR, reason_code="spam"
    )

    assert stored(comment_id)["expires_at"] > 0
    assert stored(comment_id)["status"] == "spam"
    # The spam queue holds what the defences caught, for moderators to rescue mistakes.
    assert [c.comment_id for c in service.list_queue("spam").items] == []
