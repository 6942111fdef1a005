"""The public API, read over HTTP: the only source of the pages' data."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

# An id safe as one path segment and one directory name (the API's own id patterns are
# narrower or equal): nothing the API answers can make the generator write elsewhere.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

MAX_PAGES = 50  # GET /events pages followed (50 events a page)


class ApiError(Exception):
    """The API could not be read (down, or an unexpected answer)."""


class NotFound(ApiError):
    """404: no such (published) event or post."""


class PublicApi:
    """GETs JSON from the public API at ``base_url`` (e.g. ``http://127.0.0.1:3000`` or
    ``https://abc.execute-api.eu-west-2.amazonaws.com/prod``)."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"PublicApi({self.base_url!r})"

    def get(self, path: str, **query: str) -> Any:
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        request = Request(url, headers={"Accept": "application/json"})
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except HTTPError as exc:
            if exc.code == 404:
                raise NotFound(path) from exc
            raise ApiError(f"GET {path}: HTTP {exc.code}") from exc
        except (URLError, TimeoutError, OSError) as exc:
            raise ApiError(f"GET {url}: {exc}") from exc
        except ValueError as exc:
            raise ApiError(f"GET {path}: the answer is not JSON") from exc

    def events(self) -> list[dict[str, Any]]:
        """Every upcoming published event, soonest first (GET /events, page after page)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = self.get("/events", **({"cursor": cursor} if cursor else {}))
            items.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    def event(self, event_id: str) -> dict[str, Any]:
        """One published event (GET /events/{id}); NotFound for a draft or unknown one."""
        if not SAFE_ID.match(event_id):
            raise NotFound(event_id)
        return dict(self.get(f"/events/{quote(event_id, safe='')}"))

    def comments(self, post_id: str, *, limit: int = 20) -> dict[str, Any] | None:
        """The first page of the post's approved comments (GET /posts/{id}/comments):
        ``{"count", "comments", "next_cursor"}``; None when the post is not registered
        with the API or the API cannot say."""
        try:
            page = self.get(f"/posts/{quote(post_id, safe='')}/comments", limit=str(limit))
        except ApiError:
            return None
        if not isinstance(page, dict) or not isinstance(page.get("count"), int):
            return None
        if not isinstance(page.get("comments"), list):
            return None
        return page
