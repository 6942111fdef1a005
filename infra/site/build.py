"""The static site: ``web/`` as it is (the assets and ``config.js``), plus every page
rendered from ``infra/site/templates``.

    python -m infra.site build --api https://api.example.org/prod --out dist/site

writes into ``--out``:

* everything in ``web/`` (``assets/``, ``config.js``);
* the pages that need no API data, from their templates: ``confirm.html``,
  ``registration.html``, ``policy.html``, ``series.html``, ``console/index.html``;
* ``index.html``: the upcoming workshops, each linking to its page;
* ``workshops/<event id>/index.html``: one page per upcoming published event (and per
  ``--event``), with its registration form posting to the API;
* ``blog/<post id>/index.html``: one page per post in ``infra/site/posts/``;
* ``event.html`` and ``post.html``: the pages that read ``?id=`` with JavaScript;
* ``config.js`` with ``apiBase`` set to the API's public URL.

Run it again whenever events change (published, edited, cancelled): a page is a snapshot.
The JavaScript refreshes the places left from the API when the page opens.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from infra.site.api import SAFE_ID, PublicApi
from infra.site.render import STATIC_PAGES, Site, post_ids

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
MARKER = ".convene-site"  # a directory this command wrote, and so may empty again


class BuildError(Exception):
    """The output directory or the API is not usable; nothing was written."""


@dataclass
class BuildReport:
    out: Path
    pages: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.pages)} page(s) in {self.out}: {len(self.events)} workshop(s), "
            f"{len(self.posts)} post(s)"
        )


def _check_out(out: Path, web: Path) -> None:
    if out == web or out.is_relative_to(web) or web.is_relative_to(out):
        raise BuildError(f"--out must be outside {web} (and not contain it): {out}")
    if out.exists():
        if not out.is_dir():
            raise BuildError(f"{out} is not a directory")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise BuildError(
                f"{out} is not empty and was not written by this command: choose another "
                "--out, or empty it first"
            )


def _set_api_base(config_js: Path, public_api: str) -> None:
    text = config_js.read_text(encoding="utf-8")
    # The setting's own line (`  apiBase: "",`), not the comment that explains it.
    pattern = re.compile(r'^(\s*)apiBase:\s*"[^"\n]*"', re.M)
    if not pattern.search(text):
        raise BuildError(f'{config_js} has no apiBase: "..." line to set')
    config_js.write_text(
        pattern.sub(lambda m: f"{m.group(1)}apiBase: {json.dumps(public_api)}", text, count=1),
        encoding="utf-8",
    )


def build(
    api_url: str,
    out: Path,
    *,
    public_api: str | None = None,
    events: tuple[str, ...] = (),
    web: Path = WEB,
) -> BuildReport:
    """Renders the site from the API at ``api_url`` into ``out`` (emptied first if an
    earlier build wrote it). ``public_api``: the API's URL in the pages (form actions,
    ``config.js``); by default ``api_url``. ``events``: more event ids to publish than
    the upcoming ones (e.g. a past workshop that emails still link to)."""
    out, web = Path(out).resolve(), Path(web).resolve()
    _check_out(out, web)
    browser_api = (api_url if public_api is None else public_api).rstrip("/")
    site = Site(PublicApi(api_url), public_api=browser_api)

    # Read and render everything first: a failure leaves the last build in place.
    rendered: dict[str, str] = {}
    report = BuildReport(out=out)
    upcoming = [e["id"] for e in site.api.events()]
    for event_id in dict.fromkeys([*upcoming, *events]):
        if not SAFE_ID.match(event_id):
            raise BuildError(f"the API named an event id unfit for a path: {event_id!r}")
        page = site.event(event_id)
        if page.status != 200:
            raise BuildError(f"event {event_id} is not published (GET /events/{event_id}: 404)")
        rendered[f"workshops/{event_id}/index.html"] = page.html
        report.events.append(event_id)
    for post_id in post_ids():
        post = site.post(post_id)
        assert post is not None
        rendered[f"blog/{post_id}/index.html"] = post.html
        report.posts.append(post_id)
    rendered["index.html"] = site.index().html
    rendered["event.html"] = site.event_shell().html
    rendered["post.html"] = site.post_shell().html
    for relative in STATIC_PAGES:
        rendered[relative] = site.static_page(relative).html

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(web, out)
    (out / MARKER).write_text("written by python -m infra.site build\n", encoding="utf-8")
    for relative, html in rendered.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        report.pages.append(relative)
    if (out / "config.js").is_file():
        _set_api_base(out / "config.js", browser_api)
    return report
