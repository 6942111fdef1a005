"""Registering for a workshop in the browser: a guest from the event page to the confirmed
page through the email link; the confirm, manage and cancel pages; a member of a
members-only workshop; errors by each field; a double submit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages
from tests.browser.helpers import (
    axe,
    axe_as_served,
    describe,
    hold_first,
    link_in,
    screenshot,
    unique,
    wait_for_mail,
    wait_until_held,
)
from tests.integration.twin import Twin

QUESTIONS = [
    {"id": "topic", "label": "What would you like to talk about?", "kind": "text",
     "required": True},
    {"id": "heard", "label": "How did you hear about Community Space?", "kind": "choice",
     "required": False, "options": ["The blog", "A friend", "Somewhere else"]},
    {"id": "captions", "label": "I would like live captions", "kind": "checkbox",
     "required": False},
]


def create_event(twin: Twin, **changes: Any) -> dict[str, Any]:
    """A published public workshop with its own questions, made by the demo organiser."""
    draft = {
        "title": "Community Space: sharing what works",
        "summary": "Bring one thing that worked for you this year and one that did not.",
        "series_id": "community-space",
        "starts_at": "2027-07-22T10:00:00+00:00",
        "ends_at": "2027-07-22T11:30:00+00:00",
        "timezone": "Europe/London",
        "capacity": 20,
        "questions": QUESTIONS,
        **changes,
    }
    headers = twin.headers("organiser")
    created = twin.post("/admin/events", json=draft, headers=headers)
    assert created.status_code == 201, created.text
    event = created.json()
    published = twin.patch(
        f"/admin/events/{event['id']}", json={"status": "published"}, headers=headers
    )
    assert published.status_code == 200, published.text
    return dict(twin.get(f"/events/{event['id']}").json())


@pytest.fixture(scope="module")
def event(twin: Twin) -> dict[str, Any]:
    return create_event(twin)


def fill_registration(page: Page, name: str, email: str) -> None:
    form = page.locator("form#registration")
    form.get_by_label("Your name").fill(name)
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("What would you like to talk about?").fill("Running workshops online")
    form.get_by_label("A friend").check()
    form.get_by_label(re.compile("I agree")).check()


def test_a_guest_registers_confirms_from_the_email_and_sees_the_confirmed_page(
    pages: Pages, twin: Twin, event: dict[str, Any]
) -> None:
    page = pages.new(f"/event.html?id={event['id']}")
    expect(page.locator("#when")).to_have_text("11:00-12:30 BST, Thursday 22 July 2027")
    email = f"{unique('guest')}@example.org"
    fill_registration(page, "Ann Example", email)
    screenshot(page, "event-form-filled")
    page.locator("form#registration").get_by_role("button", name="Register").click()
    status = page.locator("#register-status")
    expect(status).to_contain_text(re.compile("email", re.I))
    expect(page.locator("form#registration")).to_be_hidden()

    message = wait_for_mail(twin, email, "confirm your place")
    confirm = link_in(message, "/registrations/confirm")
    page.goto(confirm)
    # The API's GET confirm answers 303 to the event's page with the outcome.
    expect(page).to_have_url(re.compile(r"/workshops/[^/]+/\?registration=confirmed"))
    expect(page.locator("#status")).to_contain_text("Your place is confirmed")
    expect(page.locator("#seats")).to_contain_text(f"{event['capacity'] - 1} of")
    screenshot(page, "event-confirmed", docs=True)
    assert not (violations := axe(page)), describe(violations)


def test_errors_show_next_to_each_field_from_the_api(
    pages: Pages, event: dict[str, Any]
) -> None:
    page = pages.new(f"/event.html?id={event['id']}")
    form = page.locator("form#registration")
    form.get_by_label("Email", exact=True).fill("ann.example.org")
    form.get_by_role("button", name="Register").click()
    expect(form.locator(".form-summary")).to_contain_text(re.compile("attention"))
    email = form.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("not an email address"))
    expect(form.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label(re.compile("I agree"))).to_have_attribute("aria-invalid", "true")
    screenshot(page, "event-field-errors", docs=True)
    assert not (violations := axe(page)), describe(violations)


def test_the_question_answers_are_checked_by_the_api_and_shown_by_the_question(
    pages: Pages, event: dict[str, Any]
) -> None:
    page = pages.new(f"/event.html?id={event['id']}")
    form = page.locator("form#registration")
    form.get_by_label("Your name").fill("Ann Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('q')}@example.org")
    form.get_by_label(re.compile("I agree")).check()
    form.get_by_role("button", name="Register").click()
    topic = form.get_by_label("What would you like to talk about?")
    expect(topic).to_have_attribute("aria-invalid", "true")
    expect(topic).to_have_accessible_description("Please answer this question.")


def test_submitting_twice_registers_once(pages: Pages, twin: Twin, event: dict[str, Any]) -> None:
    page = pages.new(f"/event.html?id={event['id']}")
    email = f"{unique('twice')}@example.org"
    fill_registration(page, "Bea Example", email)
    button = page.locator("form#registration").get_by_role("button", name="Register")
    # Two submits before the first answer: the button is disabled while in flight, and the
    # form sends one Idempotency-Key per render.
    page.locator("form#registration").evaluate(
        "form => { form.requestSubmit(); form.requestSubmit(); }"
    )
    expect(page.locator("#register-status")).to_contain_text(re.compile("email", re.I))
    expect(button).to_be_hidden()
    wait_for_mail(twin, email, "confirm your place")
    twin.drain()
    assert len(twin.mail(to=email)) == 1


def test_the_places_left_never_go_back_when_the_pages_first_answer_comes_late(
    pages: Pages, twin: Twin
) -> None:
    """The page asks for the places left when it opens, and again after the reader has
    registered. If the first answer, from before someone else took a place, arrives last,
    it must not put that place back."""
    event = create_event(twin, capacity=5)
    page = pages.new("")
    held = hold_first(page, re.compile(rf"/events/{event['id']}$"), answer_now=True)
    page.goto(f"/workshops/{event['id']}/")
    expect(page.locator("#seats")).to_contain_text("5 of 5")  # as the page was rendered
    first = wait_until_held(page, held)  # the page asked, and has no answer yet

    # Meanwhile someone else registers and confirms: 4 places left.
    other = f"{unique('other')}@example.org"
    registered = twin.post(
        f"/events/{event['id']}/registrations",
        json={
            "name": "Ola Example",
            "email": other,
            "consent": True,
            "answers": {"topic": "Funding"},
        },
    )
    assert registered.status_code == 202, registered.text
    confirm = link_in(wait_for_mail(twin, other, "confirm your place"), "/registrations/confirm")
    assert twin.get(confirm, allow_redirects=False).status_code == 303
    assert twin.get(f"/events/{event['id']}").json()["seats_left"] == 4

    fill_registration(page, "Gil Example", f"{unique('late')}@example.org")
    page.locator("form#registration").get_by_role("button", name="Register").click()
    expect(page.locator("#register-status")).to_contain_text(re.compile("email", re.I))
    expect(page.locator("#seats")).to_contain_text("4 of 5")  # the second answer

    with page.expect_response(lambda r: r.url.endswith(f"/events/{event['id']}")):
        first.release()  # the first answer, of 5 places, arrives now
    page.wait_for_timeout(300)  # time for the page's script to take the late answer
    expect(page.locator("#seats")).to_contain_text("4 of 5")


def test_the_confirm_page_confirms_with_the_token(
    pages: Pages, twin: Twin, event: dict[str, Any]
) -> None:
    email = f"{unique('confirm')}@example.org"
    answer = twin.post(
        f"/events/{event['id']}/registrations",
        json={"name": "Cai Example", "email": email, "consent": True,
              "answers": {"topic": "Captions"}},
    )
    assert answer.status_code == 202, answer.text
    link = link_in(wait_for_mail(twin, email, "confirm your place"), "/registrations/confirm")
    token = re.search(r"token=([^&#]+)", link).group(1)
    page = pages.new(f"/confirm.html?token={token}")
    expect(page.locator("#status")).to_contain_text("Your place is confirmed")
    # The token does not stay in the address bar or the history.
    assert "token=" not in page.url
    expect(page.get_by_role("link", name="Back to the workshop")).to_have_attribute(
        "href", f"/workshops/{event['id']}/"
    )
    screenshot(page, "confirm")
    assert not (violations := axe(page)), describe(violations)


def test_the_manage_page_from_the_email_shows_the_place_and_cancels_it(
    pages: Pages, twin: Twin, event: dict[str, Any]
) -> None:
    email = f"{unique('manage')}@example.org"
    twin.post(
        f"/events/{event['id']}/registrations",
        json={"name": "Dee Example", "email": email, "consent": True,
              "answers": {"topic": "Funding", "captions": True}},
    )
    confirm = link_in(wait_for_mail(twin, email, "confirm your place"), "/registrations/confirm")
    assert twin.get(confirm).status_code == 303
    manage = link_in(wait_for_mail(twin, email, "registered"), "/registration.html")
    page = pages.new(manage)
    expect(page.locator("#event-title")).to_have_text(event["title"])
    expect(page.locator("#name")).to_have_text("Dee Example")
    expect(page.locator("#state")).to_contain_text("Confirmed")
    expect(page.locator("#answers")).to_contain_text("Funding")
    expect(page.locator("#joining")).to_be_hidden()  # this event has no joining link
    screenshot(page, "manage", docs=True)
    assert not (violations := axe(page)), describe(violations)

    cancel = page.locator("form#cancel")
    cancel.get_by_role("button", name="Cancel my registration").click()
    expect(cancel.locator(".field-error")).to_contain_text("Tick this box")
    cancel.get_by_label("Yes, cancel my registration").check()
    cancel.get_by_role("button", name="Cancel my registration").click()
    expect(page.locator("#status")).to_contain_text("Your registration is cancelled")
    expect(page.locator("#state")).to_contain_text("Cancelled")
    screenshot(page, "cancelled")


def test_a_member_signs_in_and_registers_for_a_members_only_workshop(
    pages: Pages, twin: Twin
) -> None:
    event = create_event(twin, audience="members", questions=[])
    member = twin.user("member")
    page = pages.new(f"/event.html?id={event['id']}")
    sign_in = page.locator("form#sign-in")
    sign_in.get_by_label("Email").fill(member["email"])
    sign_in.get_by_label("Password").fill(member["password"])
    sign_in.get_by_role("button", name="Sign in").click()
    form = page.locator("form#registration")
    expect(form).to_be_visible()
    expect(page.locator("#member-bar")).to_contain_text("Signed in as")
    expect(form.get_by_label("Email", exact=True)).to_be_hidden()  # from the account
    if not form.get_by_label("Your name").input_value():
        form.get_by_label("Your name").fill("Member Example")
    form.get_by_label(re.compile("I agree")).check()
    form.get_by_role("button", name="Register").click()
    expect(page.locator("#register-status")).to_contain_text(re.compile("confirmed|place", re.I))
    # The token is kept for the tab only, never in the address.
    assert "token" not in page.url
    assert page.evaluate("() => Boolean(sessionStorage.getItem('convene.idToken'))")
    screenshot(page, "event-member-registered")


def test_without_javascript_a_guest_registers_from_the_listed_page_and_confirms_by_email(
    pages: Pages, twin: Twin, site: str
) -> None:
    """The seeded public workshop, JavaScript off all the way: its page is reached from the
    list, its form is a plain form post, and the API's 303s bring the reader back to the
    page with a message, after registering and after the confirm link."""
    event = next(
        e for e in twin.get("/events").json()["items"]
        if e["audience"] == "public" and e["registration_open"] and not e["questions"]
    )
    page = pages.new("/", javascript=False)
    posts: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: posts.append({"url": r.url, "type": r.headers.get("content-type", "")})
        if r.method == "POST"
        else None,
    )
    page.locator(".card", has_text=event["title"]).get_by_role("link").click()
    expect(page).to_have_url(f"{site}/workshops/{event['id']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.locator("#when")).to_have_text(event["when"])
    seats_before = event["seats_left"]
    expect(page.locator("#seats")).to_have_text(
        f"{seats_before} of {event['capacity']} places left"
    )

    form = page.locator("form#registration")
    email = f"{unique('nojs')}@example.org"
    form.get_by_label("Your name").fill("Fay Example")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label(re.compile("I agree")).check()
    with page.expect_navigation():
        form.get_by_role("button", name="Register").click()

    assert posts and posts[0]["url"] == f"{site}/events/{event['id']}/registrations"
    assert posts[0]["type"].startswith("application/x-www-form-urlencoded")
    # 303 back to the event's page, with the outcome in the address and on the page.
    assert "registration=pending_confirmation" in page.url, page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(event["title"])
    expect(page.locator(".outcome:visible")).to_have_count(1)
    expect(page.locator("#registration-pending_confirmation")).to_be_visible()
    expect(page.locator("#registration-pending_confirmation")).to_contain_text(
        "we have sent you a link to confirm your place"
    )
    screenshot(page, "event-no-javascript")
    assert not (violations := axe_as_served(page, pages.new(""))), describe(violations)

    confirm = link_in(wait_for_mail(twin, email, "confirm your place"), "/registrations/confirm")
    page.goto(confirm)
    assert "registration=confirmed" in page.url, page.url
    expect(page.locator("#registration-confirmed")).to_be_visible()
    expect(page.locator("#registration-confirmed")).to_contain_text("Your place is confirmed")
    expect(page.locator("#seats")).to_contain_text(f"{seats_before - 1} of {event['capacity']}")
    screenshot(page, "event-no-javascript-confirmed")
