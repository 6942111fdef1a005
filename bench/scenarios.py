"""The registry of benchmark scenarios: one row per route, added by each capability.

A row says how to make one valid request of its route (`build`), whether it reads or
writes, which demo role signs it, what the design says is the least it can cost in
DynamoDB (`min_calls`, `min_units`, from docs/tables.md), how the load run uses it
(`mix`), and optionally `filler`: items of the shapes this route reads, for the scale
run (the table grows with them, not with unrelated keys only).

Adding a row (in this file, next to the capability's other rows):

    register(Scenario(
        route="POST /events/{eventId}/registrations",
        kind="write",
        build=lambda ctx: Req.json("POST", f"/events/{ctx.event_id}/registrations",
                                   {"name": "Ann Lee", "email": ctx.email(), "consent": True}),
        min_calls=1, min_units="1 transaction of 3 items (6 WCU)",
        mix="register",
    ))

A row whose route template.yaml does not declare yet is reported as "not yet
implemented" and measured as soon as the route exists: nothing is ever faked.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

# ---------------------------------------------------------------- requests


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Where the request came from (the twin's gateway always says 127.0.0.1; the
    # in-process harness gives each request its own, as real clients have).
    source_ip: str | None = None

    @classmethod
    def get(cls, path: str, **query: str | list[str]) -> Req:
        return cls("GET", path, {k: v if isinstance(v, list) else [v] for k, v in query.items()})

    @classmethod
    def json(cls, method: str, path: str, body: Any, **query: str) -> Req:
        return cls(
            method,
            path,
            {k: [v] for k, v in query.items()},
            json.dumps(body),
            {"Content-Type": "application/json"},
        )

    def url(self) -> str:
        if not self.query:
            return self.path
        pairs = [(k, v) for k, values in self.query.items() for v in values]
        return f"{self.path}?{urlencode(pairs)}"


@dataclass
class Context:
    """Ids that exist in the system under test, and fresh values for writes."""

    event_id: str
    post_id: str
    series_id: str
    comment_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    _counter: Any = field(default_factory=lambda: itertools.count(1))
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def n(self) -> int:
        return int(next(self._counter))

    def email(self) -> str:
        return f"bench-{self.run}-{self.n()}@example.org"

    def ip(self) -> str:
        n = self.n()
        return f"198.51.{(n // 250) % 250}.{n % 250 + 1}"


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    route: str  # "METHOD /path/{template}", as template.yaml declares it
    kind: str  # "read" or "write"
    build: Callable[[Context], Req]
    role: str | None = None  # demo role whose token signs the request (protected routes)
    min_calls: int | None = None  # the fewest DynamoDB calls the design allows
    min_units: str = ""  # the capacity those calls need at least, in words
    mix: str | None = None  # load-run category: browse, register, confirm, comment, moderate
    filler: Callable[[int, Context], dict[str, Any]] | None = None  # typed item for scale runs
    note: str = ""
    # Context values the request needs (ctx.extra keys), e.g. confirmation tokens that
    # only a previous registration's email can give; without them the row is skipped.
    needs: tuple[str, ...] = ()
    # Body fields a 2xx answer gives back as stored (the limits test checks the round trip).
    echoes: tuple[str, ...] = ()

    def ready(self, ctx: Context) -> bool:
        return all(ctx.extra.get(name) for name in self.needs)

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.route.split(" ", 1)[1]


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    if scenario.route in SCENARIOS:
        raise ValueError(f"{scenario.route} has a scenario already")
    SCENARIOS[scenario.route] = scenario
    return scenario


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _future(days: int, hour: int = 10) -> str:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


# ---------------------------------------------------------------- events (issue: events)


def event_filler(i: int, ctx: Context) -> dict[str, Any]:
    """A published upcoming event in another series: it sits in the same index partition
    (`EVENTS#published`) that GET /events reads, the worst case for the list."""
    event_id = f"bench-fill-{ctx.run}-{i}"
    starts = _future(30 + i % 300, 9 + i % 8)
    return {
        "pk": _s(f"EVENT#{event_id}"),
        "sk": _s("EVENT"),
        "entity": _s("event"),
        "id": _s(event_id),
        "title": _s(f"Filler workshop {i}"),
        "summary": _s("An event that only exists to make the table large." * 3),
        "series_id": _s("bench-filler-series"),
        "starts_at": _s(starts),
        "ends_at": _s(starts.replace(":00:00Z", ":30:00Z")),
        "timezone": _s("Europe/London"),
        "capacity": {"N": "30"},
        "seats_taken": {"N": "0"},
        "audience": _s("public"),
        "waitlist": {"BOOL": True},
        "status": _s("published"),
        "organiser": _s("bench-organiser"),
        "created_at": _s(_future(0, 0)),
        "updated_at": _s(_future(0, 0)),
        "published_at": _s(_future(0, 0)),
        "retention_days": {"N": "90"},
        "reminders_minutes_before": {"L": [{"N": "1440"}, {"N": "60"}]},
        "questions": {"L": []},
        "version": {"N": "1"},
        "sequence": {"N": "0"},
        "registration_closes_at": _s(starts),
        "gsi1pk": _s("EVENTS#published"),
        "gsi1sk": _s(f"{starts}#{event_id}"),
        "gsi2pk": _s("SERIES#bench-filler-series#events"),
        "gsi2sk": _s(f"{starts}#{event_id}"),
    }


def _draft(ctx: Context) -> dict[str, Any]:
    n = ctx.n()
    return {
        "title": f"Community Space: planning session {n}",
        "summary": "Help plan the next season of workshops.",
        "starts_at": _future(40 + n % 200, 10),
        "ends_at": _future(40 + n % 200, 11),
        "capacity": 30,
        "timezone": "Europe/London",
    }


register(
    Scenario(
        route="GET /events",
        kind="read",
        build=lambda ctx: Req.get("/events"),
        min_calls=1,
        min_units="1 Query of one page (51 items of ~1 KB, eventually consistent: ~7 RCU)",
        mix="browse",
        filler=event_filler,
    )
)
register(
    Scenario(
        route="GET /events/{eventId}",
        kind="read",
        build=lambda ctx: Req.get(f"/events/{ctx.event_id}"),
        min_calls=1,
        min_units="1 GetItem, strongly consistent, < 4 KB: 1 RCU",
        mix="browse",
        filler=event_filler,
    )
)
register(
    Scenario(
        route="POST /admin/events",
        kind="write",
        role="organiser",
        build=lambda ctx: Req.json("POST", "/admin/events", _draft(ctx)),
        min_calls=1,
        min_units="1 PutItem < 1 KB with a condition: 1 WCU",
        filler=event_filler,
        echoes=("title", "summary", "timezone"),
    )
)
register(
    Scenario(
        route="PATCH /admin/events/{eventId}",
        kind="write",
        role="organiser",
        build=lambda ctx: Req.json(
            "PATCH", f"/admin/events/{ctx.extra.get('draft_id', ctx.event_id)}",
            {"summary": f"Updated summary {ctx.n()}"},
        ),
        min_calls=2,
        min_units="1 GetItem (1 RCU) + 1 conditional UpdateItem (1-2 WCU)",
        filler=event_filler,
        echoes=("title", "summary", "timezone"),
    )
)

# ---------------------------------------------------------------- posts and comments


def comment_filler(i: int, ctx: Context) -> dict[str, Any]:
    """An unrelated item (another post's partition): the table grows around the post."""
    return {
        "pk": _s(f"POST#bench-fill-{ctx.run}-{i // 20}"),
        "sk": _s(f"BENCH#{i:08d}"),
        "entity": _s("bench"),
        "body": _s("Filler text for the scale run. " * 8),
    }


register(
    Scenario(
        route="PUT /admin/posts/{postId}",
        kind="write",
        role="organiser",
        build=lambda ctx: Req.json(
            "PUT",
            f"/admin/posts/bench-post-{ctx.run}-{ctx.n() % 5}",
            {"title": "This is your Community Space", "url": "https://community.example.org/blog/1",
             "comments_open": True},
        ),
        min_calls=1,
        min_units="1 UpdateItem (upsert) < 1 KB: 1 WCU",
        filler=comment_filler,
        echoes=("title", "url"),
    )
)
register(
    Scenario(
        route="GET /comment-policy",
        kind="read",
        build=lambda ctx: Req.get("/comment-policy"),
        min_calls=0,
        min_units="none: the policy ships with the function",
        mix="browse",
    )
)
register(
    Scenario(
        route="GET /posts/{postId}/comments",
        kind="read",
        build=lambda ctx: Req.get(f"/posts/{ctx.post_id}/comments"),
        min_calls=1,
        min_units="1 Query of one page of threads (+1 GetItem of the post): ~2 RCU",
        mix="browse",
        filler=comment_filler,
    )
)
register(
    Scenario(
        route="GET /comment-counts",
        kind="read",
        build=lambda ctx: Req.get("/comment-counts", post=[ctx.post_id, "another-post"]),
        min_calls=1,
        min_units="1 BatchGetItem of the posts' counters: 0.5 RCU per post",
        mix="browse",
        filler=comment_filler,
    )
)


def _comment(ctx: Context) -> Req:
    n = ctx.n()
    req = Req.json(
        "POST",
        f"/posts/{ctx.post_id}/comments",
        {
            "name": f"Reader {n}",
            "email": ctx.email(),
            "body": f"Thank you for this post; it helped us plan session {n} of our group.",
        },
    )
    req.source_ip = ctx.ip()
    return req


register(
    Scenario(
        route="POST /posts/{postId}/comments",
        kind="write",
        build=_comment,
        min_calls=2,
        min_units="1 GetItem of the post (1 RCU) + 1 transaction (comment, counters, outbox)",
        mix="comment",
        filler=comment_filler,
        note="guest comments: held for a moderator",
    )
)

# ---------------------------------------------------------------- registrations


def _registration(ctx: Context) -> Req:
    req = Req.json(
        "POST",
        f"/events/{ctx.extra.get('public_event_id', ctx.event_id)}/registrations",
        {"name": "Ann Lee", "email": ctx.email(), "consent": True},
    )
    req.source_ip = ctx.ip()
    return req


register(
    Scenario(
        route="POST /events/{eventId}/registrations",
        kind="write",
        build=_registration,
        min_calls=2,
        min_units="1 GetItem of the event (1 RCU) + 1 transaction: registration, email key, "
        "outbox (3 items: 6 WCU)",
        mix="register",
        filler=event_filler,
    )
)
def _confirm(ctx: Context) -> Req:
    tokens = ctx.extra.get("confirm_tokens") or []
    token = tokens.pop() if tokens else ctx.extra.get("confirm_token", "missing")
    return Req.json("POST", "/registrations/confirm", {"token": token})


register(
    Scenario(
        route="POST /registrations/confirm",
        kind="write",
        build=_confirm,
        needs=("confirm_tokens",),
        min_calls=2,
        min_units="1 GetItem by token hash (1 RCU) + 1 transaction: seat, registration, "
        "outbox (6 WCU)",
        mix="confirm",
        note="needs a confirmation token from the mail view",
    )
)
register(
    Scenario(
        route="POST /series/{seriesId}/interest",
        kind="write",
        build=lambda ctx: Req.json(
            "POST",
            f"/series/{ctx.series_id}/interest",
            {"name": "Ann Lee", "email": ctx.email(), "message": "I can host a session.",
             "consent": True},
        ),
        min_calls=1,
        min_units="1 transaction: interest + outbox (2 items: 4 WCU)",
    )
)

# ---------------------------------------------------------------- moderation (issue 6)


def _pending_comment(ctx: Context) -> str:
    """A guest's comment held for review, made through the comments service (not counted:
    only the measured request's calls are)."""
    from convene.comments import service as comments
    from convene.comments.models import CommentIn

    n = ctx.n()
    result = comments.submit_comment(
        ctx.post_id,
        CommentIn(
            name=f"Reader {n}",
            email=ctx.email(),
            body=f"Session {n} of our group went well, thanks to this post.",
        ),
        member=None,
        source_ip=ctx.ip(),
    )
    return result.comment_id


CLAIM_COUNT = 5


def _claim(ctx: Context) -> Req:
    # The batch is topped up to CLAIM_COUNT: after the first request the moderator's own
    # leases are extended, one conditional update each, like new ones.
    for _ in range(CLAIM_COUNT):
        _pending_comment(ctx)
    return Req.json("POST", "/moderation/claims", {"queue": "pending", "count": CLAIM_COUNT})


def _decision(ctx: Context) -> Req:
    comment_id = _pending_comment(ctx)
    return Req.json(
        "POST",
        f"/moderation/comments/{comment_id}/decision",
        {"action": "reject", "reason_code": "off_topic", "version": 1},
    )


register(
    Scenario(
        route="POST /moderation/claims",
        kind="write",
        role="moderator",
        build=_claim,
        min_calls=CLAIM_COUNT + 2,
        min_units=f"1 Query of the queue head (keys and leases only) + {CLAIM_COUNT} "
        "conditional UpdateItem (1-2 WCU each, + the index) + 1 BatchGetItem (posts, authors)",
        filler=comment_filler,
        note=f"claims {CLAIM_COUNT} comments",
    )
)
register(
    Scenario(
        route="POST /moderation/comments/{commentId}/decision",
        kind="write",
        role="moderator",
        build=_decision,
        min_calls=2,
        min_units="1 GetItem (1 RCU) + 1 transaction: comment, audit, queue and day "
        "counters, author history (5 items: 10 WCU)",
        filler=comment_filler,
        note="a reject: an approval's first publication reads the post and the parent too",
    )
)
register(
    Scenario(
        route="GET /moderation/queue",
        kind="read",
        role="moderator",
        build=lambda ctx: Req.get("/moderation/queue", queue="pending", limit="25"),
        min_calls=2,
        min_units="1 Query of 25 comments + 1 BatchGetItem of their posts and authors",
        mix="moderate",
        filler=comment_filler,
    )
)
register(
    Scenario(
        route="GET /moderation/stats",
        kind="read",
        role="moderator",
        build=lambda ctx: Req.get("/moderation/stats"),
        min_calls=4,
        min_units="2 Queries of counters (16 + 56 small items) + 2 one-item Queries",
        mix="moderate",
    )
)
