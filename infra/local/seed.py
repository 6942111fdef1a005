"""Demo data for the twin, written through the services (never by key), on every start.

Idempotent: it creates what is missing and leaves alone what exists, so an organiser's
edits to a seeded event or post survive a restart. What it seeds:

* the series "community-space" (Community Space);
* the July 2021 workshop (`community-space-2021-07-22`), published, so it shows in the
  series' history and not among upcoming events;
* two upcoming workshops dated from the day the twin starts: the next Thursday (strictly
  after today), members only, 100 seats; and four weeks later, public, 30 seats;
* the blog post "This is your Community Space", comments open, with its first comment
  (by the demo member, approved by the demo moderator) when the post is new.

Each step reports what it did; a capability whose code is not there yet is skipped with a
note (the hooks are `_seed_events` and `_seed_posts`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
THURSDAY = 3

SERIES_ID = "community-space"
SERIES_TITLE = "Community Space"
SERIES_SUMMARY = (
    "Online workshops where members of the community share what they are working on, "
    "learn from each other's experiences and plan what we do together next. Each session "
    "is informal and friendly: come with a question, a story or just to listen."
)

PAST_EVENT_ID = "community-space-2021-07-22"
PAST_EVENT_TITLE = "Community Space: learning from our experiences together"
PAST_EVENT_SUMMARY = (
    "Join us from 11.00-12.30, Thursday 22 July 2021. A relaxed session where members share "
    "what has worked for them over the past year, what hasn't, and what they would try "
    "next. Members: register to join the event."
)

POST_ID = "this-is-your-community-space"
POST_TITLE = "This is your Community Space"
COMMENT_BODY = (
    "Thank you for opening this space. I came to the July workshop and left with three "
    "ideas to try with my own group; I'm looking forward to hearing how others got on."
)


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.created)} created", f"{len(self.kept)} kept"]
        if self.notes:
            parts.append(f"{len(self.notes)} note(s)")
        return ", ".join(parts)


def next_thursday(today: date) -> date:
    """The first Thursday strictly after today."""
    days = (THURSDAY - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


def workshop_times(day: date) -> tuple[datetime, datetime]:
    """11:00-12:30 Europe/London on that day (BST or GMT as the date says)."""
    return (
        datetime.combine(day, time(11, 0), LONDON),
        datetime.combine(day, time(12, 30), LONDON),
    )


def upcoming_workshops(today: date) -> list[dict[str, Any]]:
    first = next_thursday(today)
    second = first + timedelta(days=28)
    return [
        {
            "id": f"community-space-{first.isoformat()}",
            "title": "Community Space: what are you working on?",
            "summary": (
                "Bring something you are working on, or something you are stuck on, and "
                "talk it through with other members in small groups. We finish with ten "
                "minutes to plan the next session together. Members: register to join."
            ),
            "day": first,
            "audience": "members",
            "capacity": 100,
        },
        {
            "id": f"community-space-{second.isoformat()}",
            "title": "Community Space: getting started with our community",
            "summary": (
                "New to the community, or thinking of joining? Meet some of the people who "
                "run it, hear how the workshops, the blog and the members' groups fit "
                "together, and ask anything. Everyone is welcome."
            ),
            "day": second,
            "audience": "public",
            "capacity": 30,
        },
    ]


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _conflict_class() -> type[Exception]:
    from convene.errors import Conflict

    return Conflict


# ---------------------------------------------------------------- events


def _seed_events(organiser: str, today: date, report: SeedReport) -> None:
    service = _module("convene.events.service")
    models = _module("convene.events.models")
    if service is None or models is None or not hasattr(service, "create_event"):
        report.notes.append("events: convene.events.service is not there yet; skipped")
        return

    _seed_series(service, models, report)

    past_start, past_end = workshop_times(date(2021, 7, 22))
    wanted = [
        {
            "id": PAST_EVENT_ID,
            "title": PAST_EVENT_TITLE,
            "summary": PAST_EVENT_SUMMARY,
            "starts_at": past_start,
            "ends_at": past_end,
            "audience": "members",
            "capacity": 30,
        }
    ]
    for workshop in upcoming_workshops(today):
        start, end = workshop_times(workshop.pop("day"))
        wanted.append({**workshop, "starts_at": start, "ends_at": end})

    for spec in wanted:
        event_id = spec.pop("id")
        draft = models.EventDraft(
            series_id=SERIES_ID,
            timezone="Europe/London",
            joining_url=f"https://meet.example.org/community-space/{event_id}",
            **spec,
        )
        _ensure_published_event(service, models, event_id, draft, organiser, report)


def _seed_series(service: Any, models: Any, report: SeedReport) -> None:
    getter: Callable[[str], Any] | None = getattr(service, "get_series", None)
    if getter is not None:
        try:
            if getter(SERIES_ID) is not None:
                report.kept.append(f"series {SERIES_ID}")
                return
        except Exception as exc:  # NotFound, or a getter that raises for a missing series
            if type(exc).__name__ not in {"NotFound", "KeyError"}:
                raise
    elif not hasattr(service, "put_series"):
        report.notes.append("series: no put_series in convene.events.service; skipped")
        return
    service.put_series(SERIES_ID, models.SeriesIn(title=SERIES_TITLE, summary=SERIES_SUMMARY))
    report.created.append(f"series {SERIES_ID}")


def _ensure_published_event(
    service: Any, models: Any, event_id: str, draft: Any, organiser: str, report: SeedReport
) -> None:
    conflict = _conflict_class()
    try:
        service.create_event(draft, organiser=organiser, event_id=event_id)
    except conflict:
        # It exists. Publish it only if an earlier start created it and stopped before
        # publishing (an untouched draft); anything else is an organiser's to keep.
        event = _get_event(service, event_id)
        if (
            event is None
            or getattr(event, "status", None) != "draft"
            or getattr(event, "version", 1) > 1
        ):
            report.kept.append(f"event {event_id}")
            return
    else:
        report.created.append(f"event {event_id}")
    service.update_event(event_id, models.EventPatch(status="published"), organiser=organiser)


def _get_event(service: Any, event_id: str) -> Any | None:
    getter = getattr(service, "get_event", None)
    if getter is None:
        return None
    try:
        return getter(event_id)
    except Exception:
        return None


# ---------------------------------------------------------------- posts


def _seed_posts(organiser: str, site_url: str, report: SeedReport) -> bool:
    """True if the post was created now (and so wants its first comment)."""
    service = _module("convene.posts.service")
    models = _module("convene.posts.models")
    if service is None or not hasattr(service, "register_post"):
        report.notes.append("posts: convene.posts.service is not there yet; skipped")
        return False
    post_in = getattr(models, "PostIn", None) or getattr(service, "PostIn", None)
    if post_in is None:
        report.notes.append("posts: no PostIn model found; skipped")
        return False
    getter = getattr(service, "get_post", None)
    if getter is not None:
        try:
            if getter(POST_ID) is not None:
                report.kept.append(f"post {POST_ID}")
                return False
        except Exception as exc:
            if type(exc).__name__ not in {"NotFound", "KeyError"}:
                raise
    service.register_post(
        POST_ID,
        post_in(
            title=POST_TITLE,
            url=f"{site_url.rstrip('/')}/blog/{POST_ID}",
            comments_open=True,
        ),
        organiser=organiser,
    )
    report.created.append(f"post {POST_ID}")
    return True


def _seed_comment(member: Mapping[str, str], moderator: str, report: SeedReport) -> None:
    """The post's first comment: a member's, approved by a moderator, through the
    comments service (submit, then the moderator's decision)."""
    service = _module("convene.comments.service")
    models = _module("convene.comments.models")
    if service is None or models is None or not hasattr(service, "apply_decision"):
        report.notes.append("comments: convene.comments.service is not there yet; skipped")
        return
    from convene.auth import Caller

    caller = Caller(
        sub=member["sub"],
        email=member["email"],
        email_verified=True,
        name=member.get("name"),
        groups=frozenset({"members"}),
    )
    result = service.submit_comment(
        POST_ID, models.CommentIn(body=COMMENT_BODY), member=caller, source_ip=None
    )
    if result.status != "approved":
        pending = service.list_queue("pending", limit=100).items
        version = next((c.version for c in pending if c.comment_id == result.comment_id), 1)
        service.apply_decision(
            result.comment_id, "approve", expected_version=version, moderator=moderator
        )
    report.created.append(f"comment on {POST_ID}")


# ---------------------------------------------------------------- entry point


def seed(
    *,
    organiser: str,
    site_url: str,
    member: Mapping[str, str] | None = None,
    moderator: str | None = None,
    today: date | None = None,
) -> SeedReport:
    """Seeds through the services. The environment (table names, endpoints) must already be
    set in os.environ and convene's cached settings and clients reset. `organiser` and
    `moderator` are the demo users' subs; `member` is {"sub", "email", "name"}."""
    report = SeedReport()
    today = today or datetime.now(UTC).astimezone(LONDON).date()

    def posts_and_comment() -> None:
        if _seed_posts(organiser, site_url, report) and member and moderator:
            _seed_comment(member, moderator, report)

    for step in (lambda: _seed_events(organiser, today, report), posts_and_comment):
        try:
            step()
        except Exception as exc:  # one capability's failure does not stop the twin
            report.notes.append(f"{type(exc).__name__}: {exc}")
    return report
