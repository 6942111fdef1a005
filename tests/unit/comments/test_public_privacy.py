"""No public response ever carries an email address, a keyed hash or a moderation note:
a walk over every public route of the Comments function, answers and errors alike."""

from __future__ import annotations

import re

from convene.comments import service

from infra.local import template
from tests.unit.comments.conftest import (
    GUEST,
    MODERATOR,
    POST_ID,
    Answer,
    Api,
    main_items,
    member_history,
    publish,
)

READER_IP = "203.0.113.99"
NOTE = "Moderator only: this reader has been warned before"
REPORT_NOTE = "Reporter says it names a neighbour"


def _secrets_in_the_table() -> set[str]:
    """Every keyed hash and address the table holds: none may reach a reader."""
    found: set[str] = set()
    for item in main_items():
        for value in item.values():
            text = str(value)
            found.update(re.findall(r"[0-9a-f]{32}", text))
            found.update(re.findall(r"[^\s\"']+@[^\s\"']+", text))
        for key in ("pk", "sk"):
            found.update(p for p in str(item[key]).split("#") if re.fullmatch(r"[0-9a-f]{32}", p))
    return found


def _public_routes() -> set[tuple[str, str]]:
    function = next(f for f in template.functions() if f.logical_id == "CommentsFunction")
    return {
        (spec["Properties"]["Method"].upper(), spec["Properties"]["Path"])
        for spec in function.events.values()
        if spec["Type"] == "Api"
    }


def test_no_public_route_reveals_an_email_a_hash_or_a_note(api: Api) -> None:
    member_history("token-sam", approved=2)
    thread = publish("What did everyone think?", email="jo.guest@example.org", notify=True)
    reply = publish("It was great.", parent_id=thread, email="kim@example.org")
    api.report(reply, {"reason": "personal_data", "note": REPORT_NOTE}, ip=READER_IP)
    rejected = api.submit({"name": "Pat", "email": "pat@example.org", "body": "Rejected one"})
    service.apply_decision(
        rejected.json["comment_id"],
        "reject",
        expected_version=1,
        moderator=MODERATOR,
        reason_code="abusive",
        note=NOTE,
    )

    walked: dict[tuple[str, str], list[Answer]] = {
        ("GET", "/comment-policy"): [api.policy()],
        ("GET", "/posts/{postId}/comments"): [
            api.list(),
            api.list(limit="1"),
            api.list("no-such-post"),
            api.list(cursor="bad"),
        ],
        ("GET", "/comment-counts"): [api.counts(POST_ID, "other-post"), api.counts()],
        ("POST", "/posts/{postId}/comments"): [
            api.submit({**GUEST, "body": "A new thought."}, ip=READER_IP),
            api.submit({**GUEST, "body": "A new thought."}, ip=READER_IP),  # 409
            api.submit({"body": "Trusted and published.", "notify": True}, token="token-sam"),
            api.submit(form={**GUEST, "body": "By form."}, ip=READER_IP),
            api.submit({**GUEST, "body": "Bot", "website": "x"}, ip=READER_IP),
            api.submit({"name": "Jo", "email": "bad@", "body": ""}),
            api.submit({**GUEST, "body": "Closed?"}, post_id="no-such-post"),
        ],
        ("POST", "/comments/{commentId}/reports"): [
            api.report(thread, {"reason": "off_topic", "note": REPORT_NOTE}, ip=READER_IP),
            api.report(thread, {"reason": "off_topic"}, ip=READER_IP),  # 409
            api.report(thread, form={"reason": "spam", "note": REPORT_NOTE}, token="token-alex"),
            api.report(rejected.json["comment_id"], {"reason": "spam"}),
        ],
    }
    for _ in range(5):  # past the email rate limit: a 429 tells nothing either
        walked[("POST", "/posts/{postId}/comments")].append(
            api.submit({**GUEST, "body": f"Again {_}"}, ip=READER_IP)
        )
    secrets = _secrets_in_the_table()

    assert set(walked) == _public_routes()
    statuses = {a.status for answers in walked.values() for a in answers}
    assert {200, 201, 202, 303, 404, 409, 422, 429} <= statuses
    assert any("@" in s for s in secrets)  # the walk had something to leak
    for route, answers in walked.items():
        for answer in answers:
            seen = answer.text + " " + " ".join(f"{k}: {v}" for k, v in answer.headers.items())
            assert "@" not in seen, (route, seen)
            assert READER_IP not in seen, route
            assert NOTE not in seen and REPORT_NOTE not in seen, route
            assert "warned" not in seen and "neighbour" not in seen, route
            leaked = {s for s in secrets if s in seen}
            assert not leaked, (route, leaked)
            if answer.status < 400:  # an error may name the field "email" that needs fixing
                for field in ("email", "email_hash", "member_sub", "note", "flags", "version"):
                    assert f'"{field}"' not in answer.text, (route, field)
