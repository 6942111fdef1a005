"""POST /moderation/claims: a moderator's batch, leased for 10 minutes; never the same
comment for two moderators."""

from __future__ import annotations

from tests.unit.moderation.conftest import PEOPLE, Desk, main_items, waiting


def _ids(answer_json: dict) -> list[str]:
    return [i["comment_id"] for i in answer_json["items"]]


def test_a_claim_leases_the_oldest_comments_for_ten_minutes(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(5)]

    answer = desk.claim(3)

    assert answer.status == 200, answer.text
    assert _ids(answer.json) == ids[:3]
    assert answer.json["claimed"] == 3 and answer.json["extended"] == 0
    lease = answer.json["items"][0]["claim"]
    assert lease["mine"] is True and lease["by"] == "Priya Shah"
    assert answer.json["lease_until"] == lease["lease_until"]
    held = {i["pk"].removeprefix("COMMENT#"): i for i in main_items() if i.get("claimed_by")}
    assert set(held) == set(ids[:3])
    assert {i["claimed_by"] for i in held.values()} == {PEOPLE["priya"]["sub"]}


def test_at_most_twenty_at_a_time(desk: Desk) -> None:
    assert desk.claim(20).status == 200
    answer = desk.claim(21)

    assert answer.status == 422
    assert "count" in answer.json["error"]["fields"]
    assert desk.claim(0).status == 422


def test_two_moderators_get_different_comments(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(6)]

    priya = _ids(desk.claim(3, who="priya").json)
    lee = _ids(desk.claim(3, who="lee").json)

    assert priya == ids[:3]
    assert lee == ids[3:]


def test_claiming_again_extends_the_callers_own_leases(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(4)]
    first = desk.claim(2).json
    desk.clock.advance(minutes=8)

    again = desk.claim(2).json

    assert _ids(again) == ids[:2]
    assert again["extended"] == 2 and again["claimed"] == 0
    assert again["lease_until"] > first["lease_until"]
    # Past the first lease's end the comments are still Priya's: Lee gets the others.
    desk.clock.advance(minutes=5)
    assert _ids(desk.claim(4, who="lee").json) == ids[2:]


def test_claiming_again_tops_the_batch_up_after_decisions(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(5)]
    desk.claim(2)
    desk.decide(ids[0], "approve")

    again = desk.claim(2).json

    assert _ids(again) == [ids[1], ids[2]]
    assert again["extended"] == 1 and again["claimed"] == 1


def test_an_expired_lease_is_claimable_by_anyone(desk: Desk) -> None:
    ids = [waiting(f"Comment {n}") for n in range(2)]
    desk.claim(2, who="priya")
    assert desk.claim(2, who="lee").json["items"] == []

    desk.clock.advance(minutes=10, seconds=1)
    lee = desk.claim(2, who="lee").json

    assert _ids(lee) == ids
    assert lee["items"][0]["claim"]["by"] == "Lee Walker"


def test_the_queue_shows_who_holds_a_comment_by_name_never_by_email(desk: Desk) -> None:
    waiting("Held by Priya.")
    desk.claim(1, who="priya")

    answer = desk.queue(who="lee")

    claim = answer.json["items"][0]["claim"]
    assert claim["mine"] is False and claim["by"] == "Priya Shah"
    assert PEOPLE["priya"]["email"] not in answer.text


def test_an_empty_queue_gives_an_empty_batch(desk: Desk) -> None:
    answer = desk.claim(5, "reported")

    assert answer.status == 200
    assert answer.json["items"] == [] and answer.json["claimed"] == 0


def test_a_claim_costs_one_query_and_one_update_per_comment(
    desk: Desk, ddb_calls: list[str]
) -> None:
    for n in range(4):
        waiting(f"Comment {n}")
    ddb_calls.clear()

    desk.claim(3)

    assert ddb_calls.count("Query") == 1
    assert ddb_calls.count("UpdateItem") == 3
    assert ddb_calls.count("BatchGetItem") == 1  # the posts and authors beside the batch
    assert "Scan" not in ddb_calls
