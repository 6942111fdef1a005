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

import contextlib
import hashlib
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
    # What counts as the request having done its job, when a 2xx or a 303 is not enough
    # (a 207 whose items must each be a 200).
    ok: Callable[[int, str], bool] | None = None

    def ready(self, ctx: Context) -> bool:
        return all(ctx.extra.get(name) for name in self.needs)

    def succeeded(self, status: int, body: str) -> bool:
        """A success answer: a 2xx or a 303 (a form post or a link sent on to the site),
        and whatever `ok` adds."""
        if not (200 <= status < 300 or status == 303):
            return False
        return self.ok is None or self.ok(status, body)

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
        min_calls=2,
        min_units=(
            "1 GetItem of the post + 1 Query sized to the page "
            "(a 2nd or 3rd only while a thread is open): ~2 RCU"
        ),
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


def registration_filler(i: int, ctx: Context) -> dict[str, Any]:
    """Other events' registrants, in turn a confirmed registration, a manage token and a
    person item: the shapes the registration routes read (by key, and `REGS#<event>` for
    the attendee list), in partitions of their own."""
    reg_id = f"reg_{hashlib.sha256(f'{ctx.run}-{i // 3}'.encode()).hexdigest()[:32]}"
    event_id = f"bench-fill-{ctx.run}-{i // 90}"
    created = _future(0, 0)
    if i % 3 == 0:
        return {
            "pk": _s(f"REG#{reg_id}"),
            "sk": _s("REG"),
            "entity": _s("registration"),
            "id": _s(reg_id),
            "event_id": _s(event_id),
            "state": _s("confirmed"),
            "name": _s(f"Filler registrant {i}"),
            "email": _s(f"filler-{ctx.run}-{i}@example.org"),
            "created_at": _s(created),
            "updated_at": _s(created),
            "confirmed_at": _s(created),
            "last_sent_at": _s(created),
            "version": {"N": "3"},
            "expires_at": {"N": str(int(datetime.now(UTC).timestamp()) + 120 * 86400)},
            "gsi1pk": _s(f"REGS#{event_id}"),
            "gsi1sk": _s(f"confirmed#{created}#{reg_id}"),
        }
    if i % 3 == 1:
        return {
            "pk": _s(f"TOKEN#{hashlib.sha256(f'{ctx.run}-{i}'.encode()).hexdigest()}"),
            "sk": _s("TOKEN"),
            "entity": _s("token"),
            "purpose": _s("manage"),
            "registration_id": _s(reg_id),
            "event_id": _s(event_id),
            "expires": _s(_future(120, 0)),
            "expires_at": {"N": str(int(datetime.now(UTC).timestamp()) + 121 * 86400)},
        }
    return {
        "pk": _s(f"PERSON#{hashlib.sha256(f'person-{ctx.run}-{i}'.encode()).hexdigest()}"),
        "sk": _s(f"EVENT#{event_id}"),
        "entity": _s("person"),
        "registration_id": _s(reg_id),
        "event_id": _s(event_id),
        "expires_at": {"N": str(int(datetime.now(UTC).timestamp()) + 120 * 86400)},
    }


# Setup for the registration rows, through the services and outside the timed part. The
# tokens are minted by the registrations service and read back from the outbox item of
# the email that carries them, as tests/unit/registrations read them (`confirm_url`,
# `manage_url` in the message's data); the item's key is the service's own dedupe key.

GUEST_NAMES = ("Ann Lee", "Priya Shah", "Tom Okafor", "Lee Morgan", "Amara Okafor", "Sam Reid")


def published_workshop(capacity: int, title: str) -> str:
    """A published public workshop three days from now, through the events service."""
    from convene.events import service as events
    from convene.events.models import EventDraft, EventPatch

    now = datetime.now(UTC).replace(microsecond=0)
    start = now + timedelta(days=3)
    draft = EventDraft.model_validate({
        "title": title,
        "summary": "Join us online to share what is working in your community.",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=90)).isoformat(),
        "timezone": "Europe/London",
        "capacity": capacity,
        "joining_url": "https://meet.example.org/community-space/7d1e",
    })
    created = events.create_event(draft, organiser="bench-organiser", now=now)
    events.update_event(created.id, EventPatch(status="published", version=1),
                        organiser="bench-organiser", now=now)
    return created.id


def _workshop(ctx: Context, key: str = "workshop", capacity: int = 100_000,
              title: str = "Community Space: bench workshop") -> str:
    """A published public workshop in three days, through the events service (once per
    context and key; a new one each time if `key` is None). The default 100,000 seats
    never run out in a run, so every confirmation takes a seat."""
    if key and ctx.extra.get(key):
        return str(ctx.extra[key])
    event_id = published_workshop(capacity, title)
    if key:
        ctx.extra[key] = event_id
    return event_id


def _outbox_data(dedupe_key: str) -> dict[str, Any]:
    from convene.aws import table
    from convene.settings import get_settings

    item = table(get_settings().outbox_table_name).get_item(
        Key={"pk": f"MSG#{dedupe_key}"}, ConsistentRead=True
    ).get("Item")
    if not item:
        raise LookupError(f"no outbox item MSG#{dedupe_key}")
    return dict(item["data"])


def _token_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _guest(ctx: Context, event_id: str | None = None,
           email: str | None = None) -> tuple[str, str, str]:
    """A guest registered through the service: (registration id, email, confirm token)."""
    from convene.registrations import emails, service, table
    from convene.registrations.models import RegistrationIn

    event_id = event_id or _workshop(ctx)
    email = email or ctx.email()
    n = ctx.n()
    form = RegistrationIn.model_validate(
        {"name": GUEST_NAMES[n % len(GUEST_NAMES)], "email": email, "consent": True}
    )
    service.register(event_id, form, caller=None, now=datetime.now(UTC))
    reg_id = table.get_person(service.email_hash(email), event_id)
    reg = table.get_registration(reg_id) if reg_id else None
    if reg is None:
        raise LookupError(f"the registration of a bench guest for {event_id} is missing")
    data = _outbox_data(emails._key(reg, "confirm"))
    return reg.id, email, _token_in(str(data["confirm_url"]))


def _confirmed(ctx: Context, event_id: str | None = None,
               email: str | None = None) -> tuple[str, str, str]:
    """A guest registered and confirmed: (registration id, email, manage token)."""
    from convene.registrations import emails, service, table

    reg_id, email, token = _guest(ctx, event_id, email)
    service.confirm(token, now=datetime.now(UTC))
    reg = table.get_registration(reg_id)
    if reg is None or reg.state != "confirmed":
        raise LookupError(f"bench registration {reg_id} is {reg.state if reg else 'missing'}")
    data = _outbox_data(emails._key(reg, "confirmed"))
    return reg.id, email, _token_in(str(data["manage_url"]))


def confirm_token(ctx: Context) -> str:
    """A fresh confirm token (a guest registered for the bench workshop)."""
    return _guest(ctx)[2]


def _managed(ctx: Context) -> tuple[str, str]:
    """One confirmed registration per context, for the read-only manage routes."""
    if not ctx.extra.get("managed"):
        reg_id, _, token = _confirmed(ctx)
        ctx.extra["managed"] = (reg_id, token)
    reg_id, token = ctx.extra["managed"]
    return str(reg_id), str(token)


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
        filler=registration_filler,
        min_calls=4,
        min_units="quiet case (docs/tables.md): 1 GetItem by token hash + 1 BatchGetItem "
        "(registration, event) + 1 Query of `PLACING#<event>` (nobody being placed) + 1 "
        "transaction: seat, registration, token, outbox",
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

def _confirm_link(ctx: Context) -> Req:
    return Req.get("/registrations/confirm", token=confirm_token(ctx))


def _manage(ctx: Context) -> Req:
    reg_id, token = _managed(ctx)
    return Req.get(f"/registrations/{reg_id}", token=token)


def _calendar(ctx: Context) -> Req:
    reg_id, token = _managed(ctx)
    return Req.get(f"/registrations/{reg_id}/calendar.ics", token=token)


def _cancel_registration(ctx: Context) -> Req:
    reg_id, _, token = _confirmed(ctx)
    return Req.json("POST", f"/registrations/{reg_id}/cancel", {"token": token})


register(
    Scenario(
        route="GET /registrations/confirm",
        kind="write",
        build=_confirm_link,
        min_calls=4,
        min_units="quiet case (docs/tables.md): 1 GetItem by token hash + 1 BatchGetItem "
        "(registration, event) + 1 Query of `PLACING#<event>` (nobody being placed) + 1 "
        "transaction: seat, registration, token, outbox",
        filler=registration_filler,
        note="the link in the email: a fresh guest's token each time, answered 303",
    )
)
register(
    Scenario(
        route="GET /registrations/{registrationId}",
        kind="read",
        build=_manage,
        min_calls=2,
        min_units="1 GetItem of the token + 1 BatchGetItem of the registration and the "
        "event, strongly consistent (3 RCU)",
        filler=registration_filler,
        note="a confirmed registration, by its manage token",
    )
)
register(
    Scenario(
        route="GET /registrations/{registrationId}/calendar.ics",
        kind="read",
        build=_calendar,
        min_calls=2,
        min_units="1 GetItem of the token + 1 BatchGetItem of the registration and the "
        "event, strongly consistent (3 RCU)",
        filler=registration_filler,
    )
)
register(
    Scenario(
        route="POST /registrations/{registrationId}/cancel",
        kind="write",
        build=_cancel_registration,
        min_calls=3,
        min_units="1 GetItem of the token + 1 BatchGetItem (registration, event) + 1 "
        "transaction: registration, event seats, outbox (nobody waiting: no waiting-list "
        "Query)",
        filler=registration_filler,
        note="a fresh confirmed registration each time (the seat is freed)",
    )
)

# ---------------------------------------------------------------- organisers: registrants

ROSTER = 5  # confirmed registrants of the event whose list is read and messaged
CANCELLED_EVENT_REGISTRANTS = 2


def _roster(ctx: Context) -> str:
    """A published workshop with ROSTER confirmed guests (once per context)."""
    if not ctx.extra.get("roster_event"):
        event_id = _workshop(ctx, key=None, capacity=30,
                             title="Community Space: planning the autumn season")
        for _ in range(ROSTER):
            _confirmed(ctx, event_id)
        ctx.extra["roster_event"] = event_id
    return str(ctx.extra["roster_event"])


def _attendees(ctx: Context) -> Req:
    return Req.get(f"/admin/events/{_roster(ctx)}/registrations")


def _message(ctx: Context) -> Req:
    n = ctx.n()
    return Req.json("POST", f"/admin/events/{_roster(ctx)}/messages", {
        "audience": "confirmed",
        "subject": f"Community Space: what to bring ({n})",
        "body": "Please bring one thing that worked for your group this year, and one "
        "thing that did not. See you on Thursday!",
    })


def _cancel_event(ctx: Context) -> Req:
    event_id = _workshop(ctx, key=None, capacity=30,
                         title="Community Space: a session we have to cancel")
    for _ in range(CANCELLED_EVENT_REGISTRANTS):
        _confirmed(ctx, event_id)
    return Req.json("POST", f"/admin/events/{event_id}/cancel",
                    {"reason": "Our host is unwell; we will set a new date soon."})


def _person(ctx: Context) -> str:
    """A fresh person with a confirmed registration and a comment waiting for review."""
    email = ctx.email()
    _confirmed(ctx, email=email)
    _pending_comment(ctx, email=email)
    return email


def _export(ctx: Context) -> Req:
    if not ctx.extra.get("person"):
        ctx.extra["person"] = _person(ctx)
    return Req.get("/admin/people", email=str(ctx.extra["person"]))


def _erase(ctx: Context) -> Req:
    return Req("DELETE", "/admin/people", {"email": [_person(ctx)]})


register(
    Scenario(
        route="GET /admin/events/{eventId}/registrations",
        kind="read",
        role="organiser",
        build=_attendees,
        min_calls=2,
        min_units=f"1 GetItem of the event (1 RCU) + 1 Query of `REGS#<event>` "
        f"({ROSTER} registrations, one page: ~1 RCU)",
        filler=registration_filler,
        note=f"an event with {ROSTER} confirmed registrants",
    )
)
register(
    Scenario(
        route="POST /admin/events/{eventId}/messages",
        kind="write",
        role="organiser",
        build=_message,
        min_calls=ROSTER + 4,
        min_units=f"1 GetItem of the event + 1 transaction starting the notice + 1 Query "
        f"of the confirmed + {ROSTER} transactions (token, outbox: 4 WCU each) + 1 write "
        "of the notice's progress",
        filler=registration_filler,
        note=f"to the {ROSTER} confirmed registrants of one event",
    )
)
register(
    Scenario(
        route="POST /admin/events/{eventId}/cancel",
        kind="write",
        role="organiser",
        build=_cancel_event,
        min_calls=CANCELLED_EVENT_REGISTRANTS + 6,
        min_units="1 GetItem of the event + 1 transaction (event cancelled, notice) + 1 "
        "Query per active state (confirmed, offered, waitlisted) + "
        f"{CANCELLED_EVENT_REGISTRANTS} transactions (registration, outbox) + 1 write of "
        "the notice's progress",
        filler=registration_filler,
        note=f"a fresh published event with {CANCELLED_EVENT_REGISTRANTS} confirmed "
        "registrants each time",
    )
)
register(
    Scenario(
        route="GET /admin/people",
        kind="read",
        role="organiser",
        build=_export,
        min_calls=4,
        min_units="registrations: 1 Query of the person partition + 1 BatchGetItem; "
        "comments: 1 Query of the person's comments + 1 GetItem per comment",
        filler=registration_filler,
        note="a person with one confirmed registration and one comment",
    )
)
register(
    Scenario(
        route="DELETE /admin/people",
        kind="write",
        role="organiser",
        build=_erase,
        min_calls=10,
        min_units="registrations: 1 Query + 1 BatchGetItem + the seat given back (1 GetItem "
        "of the event + 1 transaction) + 1 transaction of deletes; comments: 1 Query, then "
        "per comment 1 GetItem + 1 Query of its reports + 1 transaction; 1 DeleteItem of "
        "the author's moderation history",
        filler=registration_filler,
        note="a fresh person with one confirmed registration and one comment each time",
    )
)


# ---------------------------------------------------------------- moderation (issue 6)


def _pending_comment(ctx: Context, email: str | None = None) -> str:
    """A guest's comment held for review, made through the comments service (not counted:
    only the measured request's calls are)."""
    from convene.comments import service as comments
    from convene.comments.models import CommentIn

    n = ctx.n()
    result = comments.submit_comment(
        ctx.post_id,
        CommentIn(
            name=f"Reader {n}",
            email=email or ctx.email(),
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
        min_calls=5,
        min_units=(
            "2 Queries of counters (16 + 56 small items) + 2 one-item Queries"
            " + 1 Query of at most 25 spam index items"
        ),
        mix="moderate",
    )
)


def moderated_comment_filler(i: int, ctx: Context) -> dict[str, Any]:
    """Other posts' decided comments, in turn an approved comment, an audit record and a
    report: the shapes the history, report and decision routes read, in partitions of
    their own (on other posts' listings, in no moderation queue)."""
    comment_id = f"fill{hashlib.sha256(f'{ctx.run}-{i // 3}'.encode()).hexdigest()[:20]}"
    at = _future(-1, 9)
    if i % 3 == 0:
        return {
            "pk": _s(f"COMMENT#{comment_id}"),
            "sk": _s("COMMENT"),
            "entity": _s("comment"),
            "comment_id": _s(comment_id),
            "post_id": _s(f"bench-fill-{ctx.run}-{i // 300}"),
            "thread_key": _s(f"{i:013d}#{comment_id}"),
            "depth": {"N": "1"},
            "author_name": _s(f"Reader {i}"),
            "author_email": _s(f"filler-{ctx.run}-{i}@example.org"),
            "body": _s("A filler comment that only exists to make the table large. " * 3),
            "body_html": _s("<p>A filler comment that only exists to make the table large.</p>"),
            "status": _s("approved"),
            "version": {"N": "2"},
            "report_count": {"N": "1"},
            "reply_count": {"N": "0"},
            "created_at": _s(at),
            "published_at": _s(at),
            "decided_at": _s(at),
            "gsi2pk": _s(f"COMMENTS#bench-fill-{ctx.run}-{i // 300}"),
            "gsi2sk": _s(f"{i:013d}#{comment_id}#0"),
        }
    if i % 3 == 1:
        return {
            "pk": _s(f"COMMENT#{comment_id}"),
            "sk": _s(f"AUDIT#{i:013d}#000002"),
            "entity": _s("comment_audit"),
            "action": _s("approve"),
            "from_status": _s("pending"),
            "to_status": _s("approved"),
            "moderator": _s("bench-moderator"),
            "at": _s(at),
        }
    return {
        "pk": _s(f"COMMENT#{comment_id}"),
        "sk": _s(f"REPORT#{hashlib.sha256(f'reader-{i}'.encode()).hexdigest()}"),
        "entity": _s("comment_report"),
        "comment_id": _s(comment_id),
        "reason": _s("off_topic"),
        "created_at": _s(at),
        "expires_at": {"N": str(int(datetime.now(UTC).timestamp()) + 180 * 86400)},
    }


def _moderator() -> Any:
    from convene.moderation.service import Moderator

    return Moderator(id="bench-moderator", name="Bench Moderator")


def _approved_comment(ctx: Context) -> str:
    """A guest's comment, approved through the moderation service: published."""
    from convene.moderation import service as moderation
    from convene.moderation.models import DecisionIn

    comment_id = _pending_comment(ctx)
    moderation.decide(comment_id, DecisionIn(action="approve", version=1), _moderator())
    return comment_id


BULK = 3  # decisions per bulk request


def _bulk(ctx: Context) -> Req:
    decisions = [
        {"comment_id": _pending_comment(ctx), "action": "reject", "reason_code": "off_topic",
         "version": 1}
        for _ in range(BULK)
    ]
    return Req.json("POST", "/moderation/decisions", {"decisions": decisions})


def _bulk_ok(status: int, body: str) -> bool:
    answer = json.loads(body or "{}")
    return status == 207 and all(r.get("status") == 200 for r in answer.get("results", []))


def _history(ctx: Context) -> Req:
    if not ctx.extra.get("history_comment"):
        ctx.extra["history_comment"] = _approved_comment(ctx)
    return Req.get(f"/moderation/comments/{ctx.extra['history_comment']}/history")


def _block_domain(ctx: Context) -> str:
    return f"spam-{ctx.run}-{ctx.n()}.example"


def _put_block(ctx: Context) -> Req:
    # The list stays as long as it was: the block the previous request put is removed
    # first (the block list is read by every comment submission).
    from convene.comments import service as comments
    from convene.errors import NotFound

    previous = ctx.extra.pop("block_put", None)
    if previous:
        with contextlib.suppress(NotFound):
            comments.remove_block("domain", str(previous))
    domain = _block_domain(ctx)
    ctx.extra["block_put"] = domain
    return Req.json("PUT", "/moderation/blocks", {"kind": "domain", "value": domain})


def _remove_block(ctx: Context) -> Req:
    from convene.comments import service as comments
    from convene.comments.models import BlockIn

    domain = _block_domain(ctx)
    comments.add_block(BlockIn(kind="domain", value=domain), moderator="Bench Moderator")
    return Req.json("DELETE", "/moderation/blocks", {"kind": "domain", "value": domain})


register(
    Scenario(
        route="POST /moderation/decisions",
        kind="write",
        role="moderator",
        build=_bulk,
        ok=_bulk_ok,
        min_calls=2 * BULK,
        min_units=f"{BULK} x (1 GetItem + 1 transaction: comment, audit, counters, author "
        "history)",
        filler=moderated_comment_filler,
        note=f"{BULK} rejections of fresh pending comments; 207 with a 200 for each",
    )
)
register(
    Scenario(
        route="GET /moderation/comments/{commentId}/history",
        kind="read",
        role="moderator",
        build=_history,
        min_calls=1,
        min_units="1 Query of the comment's `AUDIT#` records, consistent (~1 RCU)",
        filler=moderated_comment_filler,
        note="an approved comment's trail",
    )
)
register(
    Scenario(
        route="GET /moderation/blocks",
        kind="read",
        role="moderator",
        build=lambda ctx: Req.get("/moderation/blocks"),
        min_calls=1,
        min_units="1 Query of the `BLOCKS` partition",
        note="the block list is one partition: the table grows around it",
    )
)
register(
    Scenario(
        route="PUT /moderation/blocks",
        kind="write",
        role="moderator",
        build=_put_block,
        min_calls=1,
        min_units="1 PutItem < 1 KB: 1 WCU",
        note="a new domain each time (the previous one is removed outside the timing)",
    )
)
register(
    Scenario(
        route="DELETE /moderation/blocks",
        kind="write",
        role="moderator",
        build=_remove_block,
        min_calls=1,
        min_units="1 DeleteItem (returning whether it existed): 1 WCU",
        note="a domain blocked just before, outside the timing",
    )
)

# ---------------------------------------------------------------- comments: reports


def _report(ctx: Context) -> Req:
    req = Req.json("POST", f"/comments/{_approved_comment(ctx)}/reports",
                   {"reason": "off_topic", "note": "This is about another post."})
    req.source_ip = ctx.ip()
    return req


register(
    Scenario(
        route="POST /comments/{commentId}/reports",
        kind="write",
        build=_report,
        min_calls=2,
        min_units="1 GetItem of the comment (1 RCU) + 1 transaction: report, comment, "
        "queue counter",
        filler=moderated_comment_filler,
        note="the first report on a freshly approved comment each time",
    )
)

# ---------------------------------------------------------------- email: unsubscribe


def address_filler(i: int, ctx: Context) -> dict[str, Any]:
    """Other addresses' unsubscribes: the partition shape an unsubscribe writes."""
    return {
        "pk": _s(f"ADDRESS#{hashlib.sha256(f'address-{ctx.run}-{i}'.encode()).hexdigest()}"),
        "sk": _s("UNSUBSCRIBED#reminders"),
        "entity": _s("unsubscribe"),
        "at": _s(_future(-1, 9)),
    }


def _unsubscribe_token(ctx: Context) -> str:
    """The token a reminder's List-Unsubscribe link carries, minted by the suppression
    service (tests/unit/email/test_unsubscribe.py does the same), for a fresh address."""
    from convene.email import suppression

    return suppression.unsubscribe_token(ctx.email(), "reminders")


def _one_click(ctx: Context) -> Req:
    # A mail client also sends the form body `List-Unsubscribe=One-Click`; the route reads
    # only the token, and the limits test (tests/proof) takes a scenario's body for JSON,
    # so the request goes without it.
    return Req("POST", "/email/unsubscribe", {"token": [_unsubscribe_token(ctx)]})


register(
    Scenario(
        route="GET /email/unsubscribe",
        kind="write",
        build=lambda ctx: Req.get("/email/unsubscribe", token=_unsubscribe_token(ctx)),
        min_calls=1,
        min_units="1 PutItem < 1 KB: 1 WCU",
        filler=address_filler,
        note="the link in a reminder, from a browser: 303 to the site",
    )
)
register(
    Scenario(
        route="POST /email/unsubscribe",
        kind="write",
        build=_one_click,
        min_calls=1,
        min_units="1 PutItem < 1 KB: 1 WCU",
        filler=address_filler,
        note="RFC 8058 one-click (the token in the query)",
    )
)
