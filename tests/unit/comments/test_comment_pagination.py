"""Pages of comments over random threads: every published comment appears exactly once,
in order, nested as it was answered, and a page's reads follow the page, not the post.

The comments are written as the service stores them (`table.visible_keys` and the
attributes of docs/tables.md) rather than submitted one by one, so a hundred random
trees run in seconds; submission's own placement is tested in test_read_comments.py."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from convene.comments import policy, service, table
from convene.db import to_item
from convene.posts import service as posts
from convene.posts.models import PostIn
from hypothesis import HealthCheck, event, example, given, settings, target
from hypothesis import strategies as st

from tests.unit.comments.conftest import ORGANISER, POST_URL

MAX_DEPTH = 3
_posts = itertools.count(1)


@dataclass
class Comment:
    comment_id: str
    at: datetime
    parent: Comment | None
    visible: bool
    depth: int = 1
    shown_under: str | None = None  # the comment it is displayed under
    root: Comment | None = None
    replies: list[Comment] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.parent is None:
            self.root = self
            return
        self.root = self.parent.root
        self.depth = min(self.parent.depth + 1, MAX_DEPTH)
        self.shown_under = (
            self.parent.comment_id if self.parent.depth < MAX_DEPTH else self.parent.shown_under
        )

    @property
    def sort_at(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    @property
    def thread_key(self) -> str:
        assert self.root is not None
        return f"{self.root.sort_at}#{self.root.comment_id}"

    @property
    def order(self) -> tuple[str, str, int, str, str]:
        """Threads oldest first, the top-level comment first, then replies oldest first."""
        assert self.root is not None
        first = self.parent is None
        return (
            self.root.sort_at,
            self.root.comment_id,
            0 if first else 1,
            self.sort_at,
            self.comment_id,
        )


# A tree is built from steps: (kind, which earlier comment, seconds later).
#   kind 0: a new top-level comment; 1: a reply to an earlier published comment;
#   2: a comment never approved (pending); 3: an earlier published comment gets hidden.
steps = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 1, 1, 1, 1, 1, 2, 3]),
        st.integers(min_value=0, max_value=10_000),
        st.sampled_from([0.001, 1, 90]),
    ),
    min_size=0,
    max_size=50,
)


def build(post_id: str, plan: list[tuple[int, int, float]]) -> list[Comment]:
    at = datetime(2021, 7, 22, 11, 0, tzinfo=UTC)
    published: list[Comment] = []
    every: list[Comment] = []
    for n, (kind, pick, later) in enumerate(plan):
        at += timedelta(seconds=later)
        cid = hashlib.sha256(f"{post_id}/{n}".encode()).hexdigest()[:24]
        if kind == 3 and published:
            published[pick % len(published)].visible = False  # reported past the threshold
            continue
        parent = published[pick % len(published)] if kind == 1 and published else None
        comment = Comment(cid, at, parent, visible=kind != 2)
        every.append(comment)
        if kind != 2:
            published.append(comment)
    return every


def store(post_id: str, comments: list[Comment]) -> None:
    from convene import aws as convene_aws
    from convene.settings import get_settings

    rows = []
    for c in comments:
        item: dict[str, Any] = {
            **table.comment_key(c.comment_id),
            "entity": "comment",
            "comment_id": c.comment_id,
            "post_id": post_id,
            "parent_id": c.parent.comment_id if c.parent else None,
            "attach_to": c.shown_under,
            "thread_key": c.thread_key,
            "depth": c.depth,
            "author_name": "Reader",
            "by_member": False,
            "body_html": "<p>About the July workshop.</p>",
            "status": "approved" if c.visible else "pending",
            "hidden": False,
            "created_at": c.sort_at,
            "sort_at": c.sort_at,
        }
        if c.visible:
            item.update(
                table.visible_keys(
                    post_id, c.thread_key, c.sort_at, c.comment_id, root=c.parent is None
                )
            )
        rows.append(
            {"PutRequest": {"Item": to_item({k: v for k, v in item.items() if v is not None})}}
        )
    ddb = convene_aws.client("dynamodb")
    for start in range(0, len(rows), 25):
        ddb.batch_write_item(RequestItems={get_settings().table_name: rows[start : start + 25]})


@dataclass
class Reads:
    calls: list[str] = field(default_factory=list)
    items: int = 0


@pytest.fixture
def reads(aws: None) -> Iterator[Reads]:
    from convene import aws as convene_aws

    seen = Reads()

    def before(model: Any, **_: Any) -> None:
        seen.calls.append(model.name)

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        seen.items += int(parsed.get("Count", 0)) if model.name == "Query" else 0

    clients = [convene_aws.client("dynamodb"), convene_aws.dynamodb().meta.client]
    for ddb in clients:
        ddb.meta.events.register("before-call.dynamodb.*", before)
        ddb.meta.events.register("after-call.dynamodb.*", after)
    yield seen
    for ddb in clients:
        ddb.meta.events.unregister("before-call.dynamodb.*", before)
        ddb.meta.events.unregister("after-call.dynamodb.*", after)


def fresh(reads: Reads) -> Reads:
    reads.calls.clear()
    reads.items = 0
    return reads


def new_post() -> str:
    post_id = f"community-space-notes-{next(_posts)}"
    posts.register_post(
        post_id,
        PostIn(title="Community Space notes", url=POST_URL, comments_open=True),
        organiser=ORGANISER["sub"],
    )
    return post_id


def count_published(post_id: str, count: int) -> None:
    """The post's count, as the transactions that publish comments keep it."""
    from convene.db import transact_write
    from convene.posts import table as posts_table

    if count:
        transact_write([posts_table.comment_count_update(post_id, count)])


def configured(per_query: int) -> Any:
    cfg = policy.get_config()
    return cfg.model_copy(
        update={"pages": cfg.pages.model_copy(update={"comments_per_query": per_query})}
    )


def flat(nodes: list[Any]) -> list[Any]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(flat(node.replies))
    return out


def expected_forest(page_ids: set[str], by_id: dict[str, Comment]) -> list[tuple[Any, ...]]:
    """What a page with these comments shows: each under the comment it is displayed
    under when that one is on the page, else at the top; siblings oldest first."""
    ordered = sorted((by_id[i] for i in page_ids), key=lambda c: c.order)
    children: dict[str | None, list[Comment]] = {}
    for c in ordered:
        under = c.shown_under if c.shown_under in page_ids else None
        children.setdefault(under, []).append(c)

    def tree(c: Comment) -> tuple[Any, ...]:
        parent_id = c.parent.comment_id if c.parent else None
        return (c.comment_id, c.depth, parent_id, [tree(r) for r in children.get(c.comment_id, [])])

    return [tree(c) for c in children.get(None, [])]


def shown_forest(nodes: list[Any]) -> list[tuple[Any, ...]]:
    return [(n.comment_id, n.depth, n.parent_id, shown_forest(n.replies)) for n in nodes]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps, limit=st.integers(1, 5), per_query=st.sampled_from([2, 3, 5, 8, 30]))
@example(  # short threads first, then a long one: the second Query falls short
    plan=[(0, 0, 1.0)] * 3 + [(1, 2, 1.0)] * 19 + [(0, 0, 60.0)] * 5, limit=3, per_query=30
)
def test_pages_show_every_published_comment_once_in_order_and_threaded(
    reads: Reads, plan: list[tuple[int, int, float]], limit: int, per_query: int
) -> None:
    post_id = new_post()
    comments = build(post_id, plan)
    store(post_id, comments)
    by_id = {c.comment_id: c for c in comments}
    visible = sorted((c for c in comments if c.visible), key=lambda c: c.order)
    count_published(post_id, len(visible))
    position = {c.comment_id: n for n, c in enumerate(visible)}

    pages = []
    cursor = None
    most_queries = 0
    with mock.patch.object(service, "get_config", lambda: configured(per_query)):
        for _ in range(len(visible) + 1):
            fresh(reads)
            page = service.list_comments(post_id, cursor=cursor, limit=limit)
            pages.append(page)
            ids = [n.comment_id for n in flat(page.comments)]
            # A page costs the post's GetItem and at most three Queries, reading at most
            # one comment more than it may show.
            queries = reads.calls.count("Query")
            event(f"a page made {queries} Queries")
            most_queries = max(most_queries, queries)
            assert reads.calls.count("GetItem") == 1
            assert 1 <= reads.calls.count("Query") <= 3
            assert reads.items <= per_query + 1
            assert len(ids) <= per_query
            assert len({by_id[i].thread_key for i in ids}) <= limit
            assert page.count == len(visible)  # the same on every page
            # Nested as answered, depth 3 at most, siblings oldest first.
            assert shown_forest(page.comments) == expected_forest(set(ids), by_id)
            cursor = page.next_cursor
            if cursor is None:
                break
            assert ids, "a page before the last shows something"
        assert cursor is None, "the pages end"
    target(float(most_queries), label="the most Queries a page made")

    shown = [n.comment_id for p in pages for n in flat(p.comments)]
    # Every published comment exactly once, nothing else, in order across the pages.
    assert sorted(shown, key=position.__getitem__) == [c.comment_id for c in visible]
    assert len(shown) == len(set(shown))
    spans = [sorted(position[n.comment_id] for n in flat(p.comments)) for p in pages]
    runs = [s for s in spans if s]
    for earlier, later in itertools.pairwise(runs):
        assert earlier[-1] + 1 == later[0]
    # A page short of `limit` threads stops only where the next thread would not fit.
    for span in runs[:-1]:
        threads = [visible[i].thread_key for i in span]
        if len(set(threads)) < limit and visible[span[-1] + 1].thread_key != threads[-1]:
            following = visible[span[-1] + 1].thread_key
            rest = sum(1 for c in visible[span[-1] + 1 :] if c.thread_key == following)
            assert len(span) + rest > per_query


def test_a_page_of_a_post_with_many_comments_reads_what_one_with_few_reads(
    reads: Reads,
) -> None:
    """Ten single-comment threads make a page; a post with 300 reads one comment more."""
    small, big = new_post(), new_post()
    at = datetime(2021, 7, 22, 11, 0, tzinfo=UTC)
    for post_id, size in ((small, 10), (big, 300)):
        store(
            post_id,
            [
                Comment(f"{post_id[-2:]}c{n:04d}", at + timedelta(seconds=n), None, True)
                for n in range(size)
            ],
        )
    cost = {}
    for post_id in (small, big):
        fresh(reads)
        page = service.list_comments(post_id)
        cost[post_id] = (sorted(reads.calls), reads.items, len(page.comments))

    assert cost[small] == (["GetItem", "Query"], 10, 10)
    assert cost[big] == (["GetItem", "Query"], 11, 10)


def test_a_page_of_threads_with_replies_reads_about_what_it_shows(reads: Reads) -> None:
    """Ten threads of three comments each, on a post of 600: two Queries, and at most half
    again what the page shows."""
    post_id = new_post()
    at = datetime(2021, 7, 22, 11, 0, tzinfo=UTC)
    comments = []
    for n in range(200):
        root = Comment(f"t{n:04d}", at + timedelta(minutes=n), None, True)
        reply = Comment(f"t{n:04d}r1", root.at + timedelta(seconds=5), root, True)
        comments += [
            root,
            reply,
            Comment(f"t{n:04d}r2", root.at + timedelta(seconds=9), reply, True),
        ]
    store(post_id, comments)
    fresh(reads)

    page = service.list_comments(post_id)

    assert len(flat(page.comments)) == 30
    assert sorted(reads.calls) == ["GetItem", "Query", "Query"]
    assert reads.items <= 45


def test_a_long_thread_after_short_ones_is_read_in_a_third_query(reads: Reads) -> None:
    """Two one-comment threads suggest short threads; the third has 20 comments, so the
    second Query falls short and the third reads on (within the page's budget)."""
    post_id = new_post()
    at = datetime(2021, 7, 22, 11, 0, tzinfo=UTC)
    first = Comment("a-first", at, None, True)
    second = Comment("b-second", at + timedelta(minutes=1), None, True)
    long_one = Comment("c-long", at + timedelta(minutes=2), None, True)
    replies = [
        Comment(f"c-reply-{n:02d}", long_one.at + timedelta(seconds=n + 1), long_one, True)
        for n in range(19)
    ]
    after = [Comment(f"d-after-{n}", at + timedelta(minutes=3 + n), None, True) for n in range(5)]
    store(post_id, [first, second, long_one, *replies, *after])
    fresh(reads)

    page = service.list_comments(post_id, limit=3)

    assert [c.comment_id for c in page.comments] == ["a-first", "b-second", "c-long"]
    assert len(page.comments[2].replies) == 19
    assert sorted(reads.calls) == ["GetItem", "Query", "Query", "Query"]
    rest = service.list_comments(post_id, cursor=page.next_cursor, limit=3)
    assert [c.comment_id for c in rest.comments] == ["d-after-0", "d-after-1", "d-after-2"]
