"""The static site the generator writes (`python -m infra.site build`), served by a plain
file server on an origin of its own, as any static host would: a workshop's page works
with JavaScript off, the `event.html?id=` page finds the workshop's page, and axe finds
nothing serious on the generated page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from infra.site.build import build
from infra.site.render import STATIC_PAGES
from tests.browser.conftest import Pages
from tests.browser.helpers import axe, axe_as_served, describe, screenshot, unique, wait_for_mail
from tests.browser.test_registration import create_event, fill_registration
from tests.integration.twin import Twin


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def event(twin: Twin) -> dict[str, Any]:
    """A published workshop with its own questions, made before the site is built."""
    return create_event(twin, title="Community Space: a static page")


@pytest.fixture(scope="module")
def static_site(
    tmp_path_factory: pytest.TempPathFactory, twin: Twin, site: str, event: dict[str, Any]
) -> Iterator[str]:
    """The generated site, read from the twin's API, with forms posting to the twin at
    the address browsers use (its SITE_URL), served from a directory on another port."""
    out = tmp_path_factory.mktemp("static") / "site"
    report = build(twin.base_url, out, public_api=site)
    assert event["id"] in report.events
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_build_writes_a_page_per_workshop_with_a_real_form_post_to_the_api(
    tmp_path: Path, twin: Twin, site: str, event: dict[str, Any]
) -> None:
    report = build(twin.base_url, tmp_path / "site", public_api=site)
    html = (tmp_path / "site" / "workshops" / event["id"] / "index.html").read_text()
    action = f'action="{site}/events/{event["id"]}/registrations"'
    assert action in html
    assert 'method="post"' in html and 'name="answer_topic"' in html and 'name="website"' in html
    assert f'href="/workshops/{event["id"]}/"' in (tmp_path / "site" / "index.html").read_text()
    assert "blog/this-is-your-community-space/index.html" in report.pages
    post = (tmp_path / "site" / "blog" / "this-is-your-community-space" / "index.html").read_text()
    assert '<li class="comment" id="comment-' in post  # the seed's approved comment, no script
    assert f'apiBase: "{site}"' in (tmp_path / "site" / "config.js").read_text()


def test_a_generated_page_on_a_static_host_registers_with_javascript_off(
    pages: Pages, twin: Twin, site: str, static_site: str, event: dict[str, Any]
) -> None:
    page = pages.new("", javascript=False)
    page.goto(f"{static_site}/")
    page.locator(".card", has_text=event["title"]).get_by_role("link").click()
    assert page.url == f"{static_site}/workshops/{event['id']}/"
    expect(page.locator("#when")).to_have_text("11:00-12:30 BST, Thursday 22 July 2027")
    email = f"{unique('static')}@example.org"
    fill_registration(page, "Gil Example", email)
    with page.expect_navigation():
        page.locator("form#registration").get_by_role("button", name="Register").click()
    # The API's 303 goes to the site it is configured with (the twin here).
    assert page.url.startswith(site), page.url
    assert "registration=pending_confirmation" in page.url
    expect(page.locator("#registration-pending_confirmation")).to_be_visible()
    wait_for_mail(twin, email, "confirm your place")


def test_a_static_page_shows_the_outcome_its_address_names_without_javascript(
    pages: Pages, static_site: str, event: dict[str, Any]
) -> None:
    page = pages.new("", javascript=False)
    page.goto(
        f"{static_site}/workshops/{event['id']}/?registration=waitlisted#registration-waitlisted"
    )
    expect(page.locator(".outcome:visible")).to_have_count(1)
    expect(page.locator("#registration-waitlisted")).to_be_visible()
    page.goto(f"{static_site}/workshops/{event['id']}/")
    expect(page.locator(".outcome:visible")).to_have_count(0)


def test_event_html_takes_the_id_to_the_workshops_page_with_javascript(
    pages: Pages, static_site: str, event: dict[str, Any]
) -> None:
    page = pages.new("")
    page.goto(f"{static_site}/event.html?id={event['id']}&registration=confirmed")
    expect(page).to_have_url(f"{static_site}/workshops/{event['id']}/?registration=confirmed")
    expect(page.locator("#status")).to_contain_text("Your place is confirmed")
    expect(page.locator(".outcomes")).to_be_hidden()


def test_the_generated_page_has_no_serious_accessibility_violation(
    pages: Pages, static_site: str, event: dict[str, Any]
) -> None:
    off = pages.new("", javascript=False)
    off.goto(f"{static_site}/workshops/{event['id']}/")
    screenshot(off, "static-event")
    assert not (violations := axe_as_served(off, pages.new(""))), describe(violations)
    on = pages.new("")
    on.goto(f"{static_site}/workshops/{event['id']}/")
    expect(on.locator("form#registration")).to_be_visible()
    assert not (violations := axe(on)), describe(violations)
    blog = pages.new("", javascript=False)
    blog.goto(f"{static_site}/blog/this-is-your-community-space")
    expect(blog.get_by_role("heading", level=1)).to_have_text("This is your Community Space")
    assert re.search(r"/blog/this-is-your-community-space/?$", blog.url)
    assert not (violations := axe_as_served(blog, pages.new(""))), describe(violations)


def test_the_pages_without_api_data_are_written_from_their_templates_in_the_sites_frame(
    tmp_path: Path, twin: Twin, site: str
) -> None:
    report = build(twin.base_url, tmp_path / "site", public_api=site)
    assert set(STATIC_PAGES) <= set(report.pages)
    frame = (tmp_path / "site" / "index.html").read_text()
    header = frame[frame.index('<a class="skip"') : frame.index("</ul>")]
    footer = frame[frame.index('<footer class="site">') :]
    for relative in STATIC_PAGES:
        html = (tmp_path / "site" / relative).read_text()
        assert html.count('<a class="skip" href="#main">') == 1, relative
        assert header in html and html.endswith(footer), relative
    console = (tmp_path / "site" / "console" / "index.html").read_text()
    assert '<body class="console">' in console
    assert '<a href="/console/" aria-current="page">Moderation</a>' in console
    for relative in ("confirm.html", "registration.html"):  # their addresses carry a token
        html = (tmp_path / "site" / relative).read_text()
        assert '<meta name="referrer" content="no-referrer">' in html, relative


@pytest.mark.parametrize(
    "path", ["/confirm.html", "/registration.html", "/policy.html", "/series.html", "/console/"]
)
def test_a_page_without_api_data_on_a_static_host_has_no_serious_accessibility_violation(
    pages: Pages, static_site: str, path: str
) -> None:
    page = pages.new("", javascript=False)
    page.goto(f"{static_site}{path}")
    expect(page.get_by_role("link", name="Skip to content")).to_have_attribute("href", "#main")
    expect(page.get_by_role("navigation", name="Site")).to_be_visible()
    assert not (violations := axe_as_served(page, pages.new(""))), describe(violations)
