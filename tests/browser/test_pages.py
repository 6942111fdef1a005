"""The public pages read the API: the workshops, one workshop, the comments policy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages
from tests.browser.helpers import axe, describe, screenshot, unique
from tests.integration.twin import Twin


def _public_event(twin: Twin) -> dict:
    events = twin.get("/events").json()["items"]
    return next(e for e in events if e["audience"] == "public" and e["registration_open"])


def test_the_home_page_lists_upcoming_workshops_with_their_zone_named(
    pages: Pages, twin: Twin
) -> None:
    page = pages.new("/")
    event = _public_event(twin)
    card = page.locator(".card", has_text=event["title"])
    expect(card).to_be_visible()
    expect(card).to_contain_text(event["when"])
    expect(card).to_contain_text(re.compile(r"\d+:\d+-\d+:\d+ (GMT|BST), \w+day"))
    expect(page.locator(".card", has_text="Members only").first).to_be_visible()
    # Each card links to the workshop's own page, which works with JavaScript off too.
    expect(card.get_by_role("link", name=event["title"])).to_have_attribute(
        "href", f"/workshops/{event['id']}/"
    )
    screenshot(page, "workshops", docs=True)
    assert not (violations := axe(page)), describe(violations)


def test_an_event_page_shows_what_when_in_its_zone_and_places_left(
    pages: Pages, twin: Twin
) -> None:
    event = _public_event(twin)
    page = pages.new(f"/event.html?id={event['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.locator("#when")).to_have_text(event["when"])
    expect(page.locator("#seats")).to_contain_text(f"of {event['capacity']} places left")
    form = page.locator("form#registration")
    expect(form.get_by_label("Your name")).to_be_visible()
    expect(form.get_by_label("Email", exact=True)).to_be_visible()
    expect(form.get_by_label(re.compile("I agree"))).to_be_visible()
    # The honeypot is in the form for bots, out of sight and out of the tab order.
    trap = form.locator("input[name=website]")
    assert trap.get_attribute("tabindex") == "-1"
    assert not trap.is_visible() or trap.bounding_box()["x"] < 0
    screenshot(page, "event", docs=True)
    assert not (violations := axe(page)), describe(violations)


def test_a_members_only_event_asks_members_to_sign_in(pages: Pages, twin: Twin) -> None:
    events = twin.get("/events").json()["items"]
    members = next(e for e in events if e["audience"] == "members" and e["registration_open"])
    page = pages.new(f"/event.html?id={members['id']}")
    expect(page.locator("#badges")).to_contain_text("Members only")
    sign_in = page.locator("form#sign-in")
    expect(sign_in).to_be_visible()
    expect(page.locator("form#registration")).to_be_hidden()
    assert not (violations := axe(page)), describe(violations)


def test_without_javascript_a_members_only_event_says_signing_in_needs_it(
    pages: Pages, twin: Twin
) -> None:
    events = twin.get("/events").json()["items"]
    members = next(e for e in events if e["audience"] == "members" and e["registration_open"])
    page = pages.new(f"/workshops/{members['id']}/", javascript=False)
    expect(page.get_by_role("heading", level=1)).to_have_text(members["title"])
    # (Playwright's text locators skip <noscript>: found by CSS instead.)
    expect(page.locator("#register noscript .notice")).to_contain_text("Signing in needs")
    expect(page.locator("form#registration")).to_be_hidden()
    expect(page.locator("form#sign-in")).to_be_hidden()


def test_an_unknown_event_says_so(pages: Pages) -> None:
    page = pages.new("/event.html?id=no-such-workshop")
    expect(page.locator("#status")).to_contain_text("no such workshop")
    page = pages.new("/workshops/no-such-workshop/", javascript=False)
    expect(page.locator("#status")).to_contain_text("no such workshop")


def test_event_html_without_an_id_says_to_choose_a_workshop(pages: Pages) -> None:
    page = pages.new("/event.html")
    expect(page.locator("#status")).to_contain_text("No workshop is named")


def test_the_comments_policy_lists_the_reasons_moderators_use(pages: Pages, twin: Twin) -> None:
    policy = twin.get("/comment-policy").json()
    page = pages.new("/policy.html")
    expect(page.get_by_role("heading", level=1)).to_have_text(policy["title"])
    for reason in policy["reason_codes"]:
        expect(page.locator("#reasons")).to_contain_text(reason["label"])
    screenshot(page, "policy")
    assert not (violations := axe(page)), describe(violations)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/policy.html",
        "/series.html",
        "/post.html?id=this-is-your-community-space",
        "/blog/this-is-your-community-space",
        "/console/",
        "/confirm.html",
        "/registration.html",
    ],
)
def test_every_page_passes_axe_with_no_serious_violation(pages: Pages, path: str) -> None:
    page = pages.new(path)
    page.wait_for_load_state("networkidle")
    assert not (violations := axe(page)), describe(violations)


@pytest.mark.parametrize(
    "path", ["/confirm.html", "/registration.html", "/policy.html", "/series.html", "/console/"]
)
def test_the_pages_without_api_data_are_rendered_in_the_sites_frame(
    pages: Pages, twin: Twin, path: str
) -> None:
    answer = twin.get(path)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    html = answer.text
    assert html.count('<a class="skip" href="#main">') == 1
    assert html.count('<header class="site">') == 1 and html.count('<footer class="site">') == 1
    page = pages.new(path)
    nav = page.get_by_role("navigation", name="Site")
    expect(nav.get_by_role("link", name="Workshops")).to_have_attribute("href", "/")
    expect(nav.get_by_role("link", name="Comments policy")).to_have_attribute(
        "href", "/policy.html"
    )
    expect(page.locator("main#main h1")).to_have_count(1)


def test_the_console_marks_its_own_item_in_the_sites_navigation(pages: Pages) -> None:
    page = pages.new("/console/")
    expect(page.locator("body")).to_have_class("console")
    nav = page.get_by_role("navigation", name="Site")
    expect(nav.get_by_role("link", name="Moderation")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("listitem")).to_have_count(4)


def test_the_pages_whose_address_carries_a_token_send_no_referrer(twin: Twin) -> None:
    for path in ("/confirm.html?token=abc", "/registration.html?id=r&token=abc"):
        assert '<meta name="referrer" content="no-referrer">' in twin.get(path).text, path


def test_the_pages_are_usable_from_the_keyboard_in_a_sensible_order(pages: Pages) -> None:
    page = pages.new("/blog/this-is-your-community-space")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    order = []
    focused = "() => document.activeElement.id || document.activeElement.textContent"
    for _ in range(40):
        page.keyboard.press("Tab")
        order.append(page.evaluate(focused))
    # The form's fields come in reading order; the honeypot never takes the focus.
    fields = [f for f in order if f.startswith("comment-")]
    assert fields[:4] == ["comment-name", "comment-email", "comment-body", "comment-notify"], order
    assert "comment-website" not in order


def test_the_interest_form_says_thank_you(pages: Pages) -> None:
    page = pages.new("/series.html?id=community-space")
    form = page.locator("form#interest")
    form.get_by_label("Your name").fill("Gus Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('gus')}@example.org")
    form.get_by_label("Your idea").fill("A session on running hybrid meetings.")
    form.get_by_label(re.compile("I agree")).check()
    form.get_by_role("button", name="Send").click()
    expect(page.locator("#status")).to_contain_text("in touch")
