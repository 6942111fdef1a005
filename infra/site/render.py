"""Render the site's pages: the functions the generator (``infra.site.build``) and the
twin (``infra.local.pages``) share.

Every page comes from ``templates/`` through one autoescaping Jinja2 environment, and
every template extends ``templates/base.html`` (the skip link, header and footer are
written once): the pages filled from the public API's answers (what the API says goes
into the HTML as text, never as markup), and the pages that need no API data
(``STATIC_PAGES``: their JavaScript reads the API in the browser).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from infra.site.api import SAFE_ID, ApiError, NotFound, PublicApi

HERE = Path(__file__).resolve().parent
POSTS = HERE / "posts"

# What the page says after a registration form post or the confirm link: the API answers
# 303 to the event's page with ?registration=<status>. The page carries every message (the
# JavaScript reads them from there); the server-rendered page (the twin) shows the one the
# query names, and a static page shows the one the address's #registration-<status> names
# (CSS :target), with no script.
OUTCOMES: dict[str, tuple[str, str]] = {
    "pending_confirmation": (
        "Thank you. Check your email: we have sent you a link to confirm your place.",
        "ok",
    ),
    "confirmed": (
        "Your place is confirmed. We have emailed you the details and a calendar file.",
        "ok",
    ),
    "waitlisted": (
        "The workshop is full, so you are on the waiting list. We email you if a place comes up.",
        "warn",
    ),
    "offered": ("A place is waiting for you: confirm it from the link in your email.", "ok"),
    "cancelled": ("Your registration is cancelled. Thank you for letting us know.", "info"),
}

_env = Environment(
    loader=FileSystemLoader(str(HERE)),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Page:
    """A rendered page and the HTTP status a server answers it with."""

    html: str
    status: int = 200


def workshop_path(event_id: str) -> str:
    """Where a workshop's page lives on the site (the generator writes
    ``workshops/<id>/index.html``). Not under /events/: that is the API's path, and the
    twin (like a site that forwards API paths to the API) serves both from one origin."""
    return f"/workshops/{event_id}/"


def post_path(post_id: str) -> str:
    return f"/blog/{post_id}"


# The first page of a post's comments is in its HTML, so they can be read with JavaScript
# off (assets/comments.js replaces them with the same page, and loads the rest).
COMMENTS_ON_THE_PAGE = 20


def comment_html(body_html: str) -> Markup:
    """A comment's body as the API rendered it (Markdown to HTML, sanitised with nh3's
    allow-list): the one field that goes into a page as markup. It is sanitised here
    again, so the page is safe even from an API that forgot to."""
    import nh3

    return Markup(nh3.clean(str(body_html)))  # noqa: S704 (just sanitised)


def comment_date(iso: str) -> str:
    """``2026-11-28T10:42:00Z`` as ``28 November 2026`` (the script adds the time in the
    reader's own zone)."""
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f"{moment.day} {moment:%B %Y}"


_env.globals.update(workshop_path=workshop_path, post_path=post_path, outcomes=OUTCOMES)
_env.filters.update(comment_html=comment_html, comment_date=comment_date)


# The pages that show no API data in their HTML, by where they live on the site: rendered
# from their templates (so they share templates/base.html's frame), the same on every
# build; their JavaScript reads the API in the browser. Emails and the API's 303s link to
# these addresses: keep them.
STATIC_PAGES: dict[str, str] = {
    "confirm.html": "templates/confirm.html",
    "registration.html": "templates/registration.html",
    "policy.html": "templates/policy.html",
    "series.html": "templates/series.html",
    "console/index.html": "templates/console.html",
}


def static_page_for(path: str) -> str | None:
    """The ``STATIC_PAGES`` entry a request path names, or None: ``/policy.html``;
    ``/console/``, ``/console`` and ``/console/index.html`` (a directory page)."""
    relative = path.lstrip("/")
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    if relative in STATIC_PAGES:
        return relative
    if f"{relative}/index.html" in STATIC_PAGES:
        return f"{relative}/index.html"
    return None


def post_ids() -> list[str]:
    """The blog posts this site publishes: one file each in ``posts/`` (``<post id>.html``,
    a template that extends ``templates/post.html``)."""
    return sorted(p.stem for p in POSTS.glob("*.html") if SAFE_ID.match(p.stem))


class Site:
    """Renders pages with data from ``api``. ``public_api`` is the API's URL as browsers
    reach it, for form actions: ``""`` when the site and the API share an origin (the
    twin), else e.g. ``https://api.community.example.org/prod``."""

    def __init__(self, api: PublicApi, *, public_api: str = "") -> None:
        self.api = api
        self.public_api = public_api.rstrip("/")

    def _render(self, name: str, **context: Any) -> str:
        return _env.get_template(name).render(api=self.public_api, **context)

    # ------------------------------------------------------------ workshops

    def index(self) -> Page:
        """The upcoming workshops, each linking to its own page."""
        return Page(self._render("templates/index.html", events=self.api.events()))

    def event(self, event_id: str, *, outcome: str | None = None) -> Page:
        """One workshop with its registration form; 404 page for an unknown or draft one.
        ``outcome``: the ``?registration=`` status the API's 303 carried, if any."""
        try:
            event = self.api.event(event_id)
        except NotFound:
            return Page(
                self._render("templates/event.html", event=None, missing=True, outcome=None), 404
            )
        shown = outcome if outcome in OUTCOMES else None
        return Page(self._render("templates/event.html", event=event, missing=False, outcome=shown))

    def event_shell(self) -> Page:
        """``event.html``: the page that reads ``?id=`` with JavaScript and goes to the
        workshop's own page (a static host cannot read the query)."""
        return Page(self._render("templates/event.html", event=None, missing=False, outcome=None))

    # ------------------------------------------------------------ no API data

    def static_page(self, relative: str) -> Page:
        """One of ``STATIC_PAGES`` (e.g. ``"console/index.html"``); reads nothing from the
        API."""
        return Page(self._render(STATIC_PAGES[relative]))

    # ------------------------------------------------------------ blog

    def post(self, post_id: str) -> Page | None:
        """A blog post's page with its comments and comment form; None if the site has no
        such post."""
        if post_id not in post_ids():
            return None
        page = self.api.comments(post_id, limit=COMMENTS_ON_THE_PAGE)
        return Page(
            self._render(
                f"posts/{post_id}.html",
                post_id=post_id,
                count=page["count"] if page else None,
                comments=page,
            )
        )

    def post_shell(self) -> Page:
        """``post.html?id=``: the comments of any post (JavaScript reads the id)."""
        return Page(
            self._render(
                "templates/post.html", post_id=None, count=None, comments=None, title="Comments"
            )
        )


__all__ = [
    "OUTCOMES",
    "STATIC_PAGES",
    "ApiError",
    "NotFound",
    "Page",
    "PublicApi",
    "Site",
    "post_ids",
    "static_page_for",
]
