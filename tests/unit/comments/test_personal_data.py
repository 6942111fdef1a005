"""Export and erasure by email: a person's comments are found through their own index (a
keyed hash of the address), never a Scan; an erased comment with replies stays as
"[removed]" so the conversation under it still reads."""

from __future__ import annotations

import json

from convene.comments import service

from tests.unit.comments.conftest import GUEST, Api, main_items, publish, stored

JO = "jo.guest@example.org"


def test_export_lists_every_comment_of_the_address_whatever_its_state(
    api: Api, ddb_calls: list[str]
) -> None:
    published = publish("What did everyone think?", email=JO, name="Jo Guest", notify=True)
    pending = api.submit({**GUEST, "body": "Still waiting."}).json["comment_id"]
    publish("Someone else's comment.", email="kim@example.org")
    ddb_calls.clear()

    export = service.export_person("  JO.Guest@Example.org ")

    by_id = {c["comment_id"]: c for c in export["comments"]}
    assert set(by_id) == {published, pending}
    assert by_id[published]["status"] == "approved"
    assert by_id[published]["body"] == "What did everyone think?"
    assert by_id[published]["notify"] is True
    assert by_id[pending]["email"] == JO
    assert "Scan" not in ddb_calls


def test_an_erased_comment_with_replies_stays_as_removed(api: Api) -> None:
    thread = publish("What did everyone think?", email=JO, name="Jo Guest")
    reply = publish("It was great.", parent_id=thread, email="kim@example.org")

    summary = service.erase_person(JO)

    listing = api.list().json
    top = listing["comments"][0]
    assert summary == {"comments_removed": 0, "comments_anonymised": 1}
    assert top["comment_id"] == thread
    assert top["author_name"] == "[removed]"
    assert top["body_html"] == "<p>[removed]</p>"
    assert [r["comment_id"] for r in top["replies"]] == [reply]
    assert listing["count"] == 2
    assert "author_email" not in stored(thread)
    assert stored(thread)["body"] == ""


def test_an_erased_comment_without_replies_goes(api: Api) -> None:
    alone = publish("A lone thought.", email=JO, name="Jo Guest")
    other = publish("Someone else's comment.", email="kim@example.org")

    summary = service.erase_person(JO)

    listing = api.list().json
    assert summary == {"comments_removed": 1, "comments_anonymised": 0}
    assert [c["comment_id"] for c in listing["comments"]] == [other]
    assert listing["count"] == 1
    assert all(i.get("comment_id") != alone for i in main_items())


def test_erasure_removes_pending_and_reported_comments_and_leaves_no_trace_of_the_address(
    api: Api,
) -> None:
    api.submit({**GUEST, "body": "Still waiting."})
    reported = publish("Reported one.", email=JO, name="Jo Guest")
    api.report(reported, {"reason": "off_topic", "note": "Not about the post"})

    summary = service.erase_person(JO)

    assert summary == {"comments_removed": 2, "comments_anonymised": 0}
    assert JO not in json.dumps(main_items(), default=str).lower()
    assert service.export_person(JO) == {"comments": []}
    assert service.list_queue("pending").items == []
    assert service.list_queue("reported").items == []


def test_erasing_an_unknown_address_changes_nothing(api: Api) -> None:
    publish("Someone else's comment.", email="kim@example.org")

    assert service.erase_person("nobody@example.org") == {
        "comments_removed": 0,
        "comments_anonymised": 0,
    }
    assert api.list().json["count"] == 1
