"""Helpers for the browser tests: screenshots, axe-core, the mail view, holding a request back."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIResponse, Locator, Page, Route

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


DOCS_WIDTH, DOCS_MAX_HEIGHT = 600, 1500


def screenshot(
    page: Page, name: str, *, docs: bool = False, around: Locator | None = None
) -> Path:
    """tests/browser/screenshots/<name>.png, the full page. docs=True also writes a small
    copy to docs/screenshots/ for the README when UPDATE_DOCS_SCREENSHOTS=1: 600 px wide,
    at most 1500 px tall, 64 colours (Pillow comes with matplotlib, from requirements/);
    of the full page, or with `around` of the window scrolled to that element."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        from PIL import Image

        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        source = path
        if around is not None:
            around.scroll_into_view_if_needed()
            source = SCREENSHOTS / f"{name}.window.png"
            page.screenshot(path=str(source))
        with Image.open(source) as full:
            image = full.convert("RGB")
        height = round(image.height * DOCS_WIDTH / image.width)
        image = image.resize((DOCS_WIDTH, height), Image.Resampling.LANCZOS)
        image = image.crop((0, 0, DOCS_WIDTH, min(height, DOCS_MAX_HEIGHT)))
        small = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        small.save(DOCS_SCREENSHOTS / f"{name}.png", optimize=True)
    return path


SERIOUS = {"serious", "critical"}


def axe(page: Page) -> list[dict[str, Any]]:
    """Runs axe-core (from npm) on the page as it is now; returns the serious and critical
    violations (WCAG 2.x A and AA rules, and axe's best practices)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci installs axe-core)", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
              runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                               "wcag22aa", "best-practice"]},
            });
            return r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary).slice(0, 5),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]


def axe_as_served(page: Page, fresh: Page) -> list[dict[str, Any]]:
    """axe on what a reader with JavaScript off gets at page's address (axe itself needs
    JavaScript): the page's HTML without its scripts, with <noscript> content shown, loaded
    into `fresh`, a JavaScript-on page."""
    html = page.content()
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S | re.I)
    html = re.sub(r"<(/?)noscript\b", r"<\1div", html, flags=re.I)
    html = html.replace("<head>", f'<head><base href="{page.url}">', 1)
    fresh.set_content(html)
    return axe(fresh)


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )


def wait_for_mail(twin: Any, to: str, subject: str = "", timeout: float = 30.0) -> dict[str, Any]:
    """The newest email to `to` whose subject contains `subject`, once the stream pump has
    sent it (the twin's /_local/mail view)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        twin.drain()
        wanted = subject.lower()
        found = [m for m in twin.mail(to=to) if wanted in str(m.get("subject", "")).lower()]
        if found:
            return dict(found[-1])
        if time.monotonic() > deadline:
            pytest.fail(f"no email to {to} with {subject!r} in its subject", pytrace=False)
        time.sleep(0.5)


def links(message: dict[str, Any]) -> list[str]:
    text = f"{message.get('text') or ''}\n{message.get('html') or ''}"
    return [m.replace("&amp;", "&") for m in re.findall(r"https?://[^\s\"'<>)]+", text)]


def link_in(message: dict[str, Any], fragment: str) -> str:
    """The first link in the email whose address contains `fragment`."""
    for link in links(message):
        if fragment in link:
            return link
    pytest.fail(f"no link with {fragment!r} in the email: {links(message)}", pytrace=False)


def unique(prefix: str) -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Held:
    """A request held back by `hold_first`: `release()` lets it go on."""

    route: Route
    answer: APIResponse | None  # the answer as it was when the request was made

    def release(self) -> None:
        if self.answer is None:
            self.route.continue_()  # sent now: the server answers as things are now
        else:
            self.route.fulfill(response=self.answer)  # the answer of then, arriving late


def hold_first(page: Page, url: re.Pattern[str], *, answer_now: bool = False) -> list[Held]:
    """Holds back the first request whose URL matches, until the test calls `release()`
    on the list's one item; later requests go through. With answer_now the request is
    answered by the server at once and only the answer is held, so it arrives late and
    out of date. For proving what a page does when answers arrive out of order."""
    held: list[Held] = []

    def hold(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(Held(route, route.fetch() if answer_now else None))

    page.route(url, hold)
    return held


def wait_until_held(page: Page, held: list[Held], timeout: float = 10.0) -> Held:
    """The held request, once the page has made it (the route's handler runs while
    Playwright waits, so this waits in the page's time)."""
    for _ in range(int(timeout / 0.05)):
        if held:
            return held[0]
        page.wait_for_timeout(50)
    raise AssertionError("the page never made the request")
