"""Moderation's invariants under real concurrency: threads against DynamoDB Local.

* 10 moderators claiming at once from a queue of 100 each get distinct comments: none is
  held twice, and all 100 are handed out.
* Concurrent decisions on one comment: exactly one wins, the others get 409.
* A decision is never lost or applied twice: the audit trail has exactly one record per
  applied decision, and the counters agree with it.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import boto3
import pytest

T = TypeVar("T")

POST_ID = "this-is-your-community-space"
MODERATORS = 10
QUEUE_SIZE = 100


@pytest.fixture
def desk(fresh_tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh tables with the blog post "This is your Community Space" registered."""
    from convene import secrets
    from convene.comments import policy
    from convene.posts import service as posts
    from convene.posts.models import PostIn

    monkeypatch.setattr(secrets, "signing_key", lambda: b"concurrency-test-signing-key")
    policy.reset()
    posts.register_post(
        POST_ID,
        PostIn(
            title="This is your Community Space",
            url=f"https://community.example.org/blog/{POST_ID}",
            comments_open=True,
        ),
        organiser="3f1c2a9e-organiser-ruth",
    )
    yield
    policy.reset()


def _waiting(count: int) -> list[str]:
    """`count` guests' comments held for review, oldest first (each its own reader)."""
    from convene.comments import service as comments
    from convene.comments.models import CommentIn

    def one(n: int) -> str:
        result = comments.submit_comment(
            POST_ID,
            CommentIn(
                name=f"Reader {n}",
                email=f"reader{n}@example.org",
                body=f"Comment {n}: the July workshop gave our group ideas to try.",
            ),
            member=None,
            source_ip=f"198.51.{n // 250}.{n % 250 + 1}",
        )
        return result.comment_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def _moderator(n: int) -> Any:
    from convene.moderation.service import Moderator

    return Moderator(id=f"moderator-{n:02d}", name=f"Moderator {n}")


def _at_once(work: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Runs every callable in its own thread, released together; results or errors."""
    gate = threading.Barrier(len(work))

    def run(job: Callable[[], T]) -> T | Exception:
        gate.wait()
        try:
            return job()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(run, work))


def _main_items() -> list[dict[str, Any]]:
    """Every item of MainTable (the test looks at what was stored; never a request path)."""
    from convene.settings import get_settings

    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_ten_moderators_claiming_at_once_get_distinct_comments_and_all_are_handed_out(
    desk: None,
) -> None:
    from convene.moderation import service

    ids = _waiting(QUEUE_SIZE)
    per_moderator = QUEUE_SIZE // MODERATORS

    def claim(n: int) -> Callable[[], list[str]]:
        def job() -> list[str]:
            batch = service.claim("pending", per_moderator, _moderator(n))
            return [item.comment_id for item in batch.items]

        return job

    results = _at_once([claim(n) for n in range(MODERATORS)])

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    batches = [r for r in results if isinstance(r, list)]
    held = Counter(comment_id for batch in batches for comment_id in batch)
    assert [n for n in held.values() if n > 1] == [], "a comment was handed to two moderators"
    assert set(held) == set(ids), "some comments were not handed out"
    assert [len(b) for b in batches] == [per_moderator] * MODERATORS
    # What is stored agrees: each comment is leased to the one moderator who got it.
    holder = {cid: f"moderator-{n:02d}" for n, batch in enumerate(batches) for cid in batch}
    stored = {
        str(i["pk"]).removeprefix("COMMENT#"): i.get("claimed_by")
        for i in _main_items()
        if i["sk"] == "COMMENT"
    }
    assert stored == holder


def test_concurrent_decisions_on_one_comment_one_wins_the_others_get_409(desk: None) -> None:
    from convene.errors import Conflict
    from convene.moderation import service
    from convene.moderation.models import DecisionIn

    ids = _waiting(5)
    choices = [
        DecisionIn(action="approve", version=1),
        DecisionIn(action="reject", reason_code="off_topic", version=1),
        DecisionIn(action="spam", reason_code="spam", version=1),
    ]
    for comment_id in ids:
        work = [
            partial(service.decide, comment_id, choices[n % 3], _moderator(n))
            for n in range(MODERATORS)
        ]

        results = _at_once(work)

        wins = [r for r in results if not isinstance(r, Exception)]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1, results
        assert len(conflicts) == MODERATORS - 1, results
        assert {c.code for c in conflicts} <= {"already_decided", "claimed_by_another"}


def test_the_moderator_holding_the_lease_wins_against_everyone_else(desk: None) -> None:
    from convene.errors import Conflict
    from convene.moderation import service
    from convene.moderation.models import DecisionIn

    (comment_id,) = _waiting(1)
    service.claim("pending", 1, _moderator(0))
    decision = DecisionIn(action="reject", reason_code="abusive", version=1)

    results = _at_once(
        [partial(service.decide, comment_id, decision, _moderator(n)) for n in range(8)]
    )

    assert not isinstance(results[0], Exception), results[0]
    # Everyone else gets a 409: "claimed by another" while the holder's decision is in
    # flight, or "already decided" if the holder finished before their read (a busy
    # machine schedules the threads so). Either way none of them decided.
    others = [(type(r).__name__, getattr(r, "code", None)) for r in results[1:]]
    assert all(isinstance(r, Conflict) for r in results[1:]), others
    assert {code for _, code in others} <= {"claimed_by_another", "already_decided"}, others
    decided = [r for r in service.history(comment_id).items if r.action == "reject"]
    assert [r.moderator_id for r in decided] == ["moderator-00"]


def test_no_decision_is_lost_or_applied_twice(desk: None) -> None:
    """40 comments, 8 moderators, each trying every comment in its own order (and sending
    each decision twice, as a retrying client would): every comment ends with exactly one
    applied decision, one audit record for it, and the counters agree."""
    from convene.errors import Conflict
    from convene.moderation import service
    from convene.moderation.models import DecisionIn

    ids = _waiting(40)
    actions = {
        "approve": DecisionIn(action="approve", version=1),
        "reject": DecisionIn(action="reject", reason_code="off_topic", version=1),
        "spam": DecisionIn(action="spam", reason_code="spam", version=1),
    }
    applied: list[tuple[str, str]] = []
    lock = threading.Lock()

    def moderator(n: int) -> Callable[[], int]:
        def job() -> int:
            order = random.Random(n).sample(ids, len(ids))
            conflicts = 0
            for comment_id in order:
                action = random.Random(f"{n}{comment_id}").choice(list(actions))
                for _ in range(2):  # the retry finds it decided
                    try:
                        service.decide(comment_id, actions[action], _moderator(n))
                    except Conflict:
                        conflicts += 1
                        continue
                    with lock:
                        applied.append((comment_id, action))
            return conflicts

        return job

    results = _at_once([moderator(n) for n in range(8)])

    assert not [r for r in results if isinstance(r, Exception)], results
    per_comment = Counter(comment_id for comment_id, _ in applied)
    assert set(per_comment) == set(ids), "a decision was lost"
    assert set(per_comment.values()) == {1}, "a decision was applied twice"

    items = _main_items()
    decisions = [
        i
        for i in items
        if str(i["sk"]).startswith("AUDIT#") and i["action"] in {"approve", "reject", "spam"}
    ]
    audited = Counter(str(i["pk"]).removeprefix("COMMENT#") for i in decisions)
    assert audited == per_comment, "the audit trail must have one record per applied decision"
    winner = dict(applied)
    target = {"approve": "approved", "reject": "rejected", "spam": "spam"}
    status = {
        str(i["pk"]).removeprefix("COMMENT#"): i["status"] for i in items if i["sk"] == "COMMENT"
    }
    assert status == {cid: target[winner[cid]] for cid in ids}

    stats = service.stats(days=2)  # yesterday too: the run may cross midnight (UTC)
    counted = Counter({a: sum(getattr(d, a) for d in stats.decisions_per_day) for a in target})
    by_action = Counter(action for _, action in applied)
    assert counted == by_action
    assert stats.queues["pending"].depth == 0
