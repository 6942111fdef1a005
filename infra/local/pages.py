"""The web pages the twin renders on request, with the generator's own render functions
(``infra.site``), so they are always current: the data comes from the twin's public API
over HTTP, as the generator reads a deployed one.

| path | page |
|---|---|
| ``/``, ``/index.html`` | the upcoming workshops, linking to each one's page |
| ``/workshops/<id>/`` | one workshop and its registration form (``?registration=`` shown) |
| ``/event.html?id=<id>`` | the same page (where the API's 303 and emails point today) |
| ``/event.html`` | the page that takes ``?id=`` with JavaScript (what a static host has) |
| ``/blog/<post id>`` | a post of ``infra/site/posts/`` with its comments and form |
| ``/post.html`` | the comments of any post by ``?id=`` |
| ``/confirm.html``, ``/registration.html`` | pages that need no API data in their HTML |
| ``/policy.html``, ``/series.html``, ``/console/`` | (``STATIC_PAGES``: their JS reads the API) |

Everything else under ``/`` is a file of the static directory (``web/``: the assets and
``config.js``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from infra.local.gateway import LocalResponse
from infra.site.api import ApiError, PublicApi
from infra.site.render import Page, Site, static_page_for

log = logging.getLogger("infra.local.pages")

_WORKSHOP = re.compile(r"^/workshops/([^/]+)/?(?:index\.html)?$")
_POST = re.compile(r"^/blog/([^/]+)/?(?:index\.html)?$")


def _html(page: Page) -> LocalResponse:
    return LocalResponse(
        page.status,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
        page.html.encode("utf-8"),
    )


def _first(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


class SitePages:
    """The gateway's page hook: ``pages(path, query, api_url)`` answers a rendered page,
    or None for a path that is no rendered page (a static file, or a 404)."""

    def __call__(
        self, path: str, query: Mapping[str, Sequence[str]], api_url: str
    ) -> LocalResponse | None:
        # Same origin: the pages' form actions and fetches use relative API paths.
        site = Site(PublicApi(api_url), public_api="")
        try:
            return self._page(site, path, query)
        except ApiError as exc:
            log.warning("page %s: the API could not be read: %s", path, exc)
            return LocalResponse(
                503,
                {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "5"},
                b"The page could not be rendered: the API did not answer. Try again.\n",
            )

    def _page(
        self, site: Site, path: str, query: Mapping[str, Sequence[str]]
    ) -> LocalResponse | None:
        if path in ("/", "/index.html"):
            return _html(site.index())
        outcome = _first(query, "registration")
        if path == "/event.html":
            event_id = _first(query, "id")
            if event_id:
                return _html(site.event(event_id, outcome=outcome))
            return _html(site.event_shell())
        if match := _WORKSHOP.match(path):
            return _html(site.event(match.group(1), outcome=outcome))
        if path == "/post.html":
            return _html(site.post_shell())
        if match := _POST.match(path):
            page = site.post(match.group(1))
            return _html(page) if page is not None else None
        if relative := static_page_for(path):
            return _html(site.static_page(relative))
        return None
