"""The blog post's comments: the form, a held comment, the count, JavaScript on and off."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Pages
from tests.browser.fill_queue import fill_queue
from tests.browser.helpers import (
    axe,
    axe_as_served,
    describe,
    hold_first,
    screenshot,
    unique,
    wait_until_held,
)
from tests.integration.twin import Twin

POST = "this-is-your-community-space"
BLOG = f"/blog/{POST}"


def _count(twin: Twin) -> int:
    return int(twin.get(f"/posts/{POST}/comments").json()["count"])


def test_the_post_page_has_the_comment_form_with_the_policy_and_the_private_email_line(
    pages: Pages, twin: Twin
) -> None:
    page = pages.new(BLOG)
    expect(page.get_by_role("heading", level=1)).to_have_text("This is your Community Space")
    expect(page.locator("#read-comments")).to_have_text(f"Read comments {_count(twin)}")
    form = page.locator("form#comment-form")
    email = form.get_by_label("Email", exact=True)
    expect(email).to_be_visible()
    # The line sits by the email field and is its accessible description.
    expect(email).to_have_accessible_description("This will not be publicly visible.")
    expect(page.get_by_role("link", name=re.compile("comments policy")).first).to_have_attribute(
        "href", "/policy.html"
    )
    expect(page.locator("#sign-in-line")).to_contain_text(
        "If you have an account please sign in before posting your comment."
    )
    screenshot(page, "post", docs=True)
    assert not (violations := axe(page)), describe(violations)


def test_errors_from_the_api_show_next_to_each_field(pages: Pages) -> None:
    page = pages.new(BLOG)
    form = page.locator("form#comment-form")
    form.get_by_label("Name").fill("Ann Example")
    form.get_by_label("Email", exact=True).fill("not-an-address")
    form.get_by_role("button", name="Post comment").click()
    email = form.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#comment-email-error")).to_contain_text("not an email address")
    expect(email).to_have_accessible_description(re.compile("not an email address"))
    body = form.get_by_label("Comment", exact=True)
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".form-summary")).to_contain_text("need attention")
    screenshot(page, "post-field-errors")
    assert not (violations := axe(page)), describe(violations)


def test_a_guest_comment_is_held_for_moderation_and_not_listed(pages: Pages, twin: Twin) -> None:
    before = _count(twin)
    page = pages.new(BLOG)
    text = f"Thank you for the workshop in July. {unique('held')}"
    form = page.locator("form#comment-form")
    form.get_by_label("Name").fill("Ann Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('ann')}@example.org")
    form.get_by_label("Comment", exact=True).fill(text)
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments-status")).to_contain_text("awaiting moderation")
    expect(page.locator("#comment-list")).not_to_contain_text(text)
    expect(page.locator("#read-comments")).to_have_text(f"Read comments {before}")
    screenshot(page, "post-comment-held")
    page.reload()
    expect(page.locator("#comment-list")).not_to_contain_text(text)
    assert _count(twin) == before


def test_without_javascript_the_comment_form_posts_and_comes_back_to_the_post(
    pages: Pages, twin: Twin, site: str
) -> None:
    page = pages.new(BLOG, javascript=False)
    text = f"Posted with JavaScript off. {unique('nojs')}"
    form = page.locator("form#comment-form")
    form.get_by_label("Name").fill("Bea Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('bea')}@example.org")
    form.get_by_label("Comment", exact=True).fill(text)
    with page.expect_navigation():
        form.get_by_role("button", name="Post comment").click()
    # The API answered 303 to the post's page, at its comments.
    assert page.url.startswith(f"{site}{BLOG}?comment=pending"), page.url
    assert page.url.endswith("#comments")
    expect(page.locator("noscript .after-post, .after-post").first).to_be_visible()
    expect(page.locator(".after-post").first).to_contain_text("awaiting moderation")
    screenshot(page, "post-no-javascript")
    assert not (violations := axe_as_served(page, pages.new(""))), describe(violations)


def test_without_javascript_the_approved_comments_are_on_the_page(pages: Pages, twin: Twin) -> None:
    approved = twin.get(f"/posts/{POST}/comments", params={"limit": "20"}).json()
    assert approved["comments"], "the seed has an approved comment"

    page = pages.new(BLOG, javascript=False)

    threads = page.locator("#comment-list > .comment")
    expect(threads).to_have_count(len(approved["comments"]))
    first = approved["comments"][0]
    expect(threads.first.locator(".author").first).to_have_text(first["author_name"])
    expect(page.locator("#comment-count")).to_have_text(str(approved["count"]))
    # With JavaScript on, the script shows the same comments (it replaces the list).
    live = pages.new(BLOG)
    expect(live.locator("#comment-list > .comment")).to_have_count(len(approved["comments"]))


def test_a_reply_is_held_then_shown_threaded_under_its_parent(pages: Pages, twin: Twin) -> None:
    page = pages.new(BLOG)
    parent = page.locator("#comment-list > .comment").first
    expect(parent).to_be_visible()
    parent_author = parent.locator(".author").first.inner_text()
    parent.get_by_role("button", name="Reply").first.click()
    expect(page.locator("#replying")).to_contain_text(f"Replying to {parent_author}")
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()
    text = f"Same here: three ideas, two tried. {unique('reply')}"
    form = page.locator("form#comment-form")
    form.get_by_label("Name").fill("Hal Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('hal')}@example.org")
    form.get_by_label("Comment", exact=True).fill(text)
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments-status")).to_contain_text("awaiting moderation")

    # A moderator approves it (through the API; the console has its own tests).
    headers = twin.headers("moderator2")
    held = twin.post(
        "/moderation/claims", json={"queue": "pending", "count": 20}, headers=headers
    ).json()["items"]
    reply = next(i for i in held if text in i["body"])
    decided = twin.post(
        f"/moderation/comments/{reply['comment_id']}/decision",
        json={"action": "approve", "version": reply["version"]},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text

    page.reload()
    nested = page.locator("#comment-list > .comment").first.locator("ol.thread .comment")
    expect(nested.filter(has_text=text)).to_be_visible()
    screenshot(page, "post-threaded")


def test_show_more_comments_adds_the_next_page_once_even_when_clicked_twice(
    pages: Pages, twin: Twin
) -> None:
    # A post of its own (the other tests expect the seeded post's comments on one page),
    # read on /post.html, the page for any post's comments.
    post = unique("a-long-thread")
    registered = twin.put(
        f"/admin/posts/{post}",
        json={"title": "A long thread", "url": f"{twin.base_url}/post.html?id={post}"},
        headers=twin.headers("organiser"),
    )
    assert registered.status_code in {200, 201}, registered.text
    fill_queue(twin, 21, unique("more"), post=post, approve=True)  # more than a page of 20
    threads: list[str] = []
    cursor = None
    while True:
        params = {"limit": "20", **({"cursor": cursor} if cursor else {})}
        answer = twin.get(f"/posts/{post}/comments", params=params).json()
        threads += [c["comment_id"] for c in answer["comments"]]
        if not (cursor := answer.get("next_cursor")):
            break
    assert len(threads) == 21

    page = pages.new(f"/post.html?id={post}")
    shown = page.locator("#comment-list > .comment")
    expect(shown).to_have_count(20)
    more = page.get_by_role("button", name="Show more comments")
    # The first click's page is held on its way, so the second click asks again with the
    # same cursor: the list must take one of the two answers, not both.
    held = hold_first(page, re.compile(r"/comments\?.*cursor="))
    more.click()
    more.click()
    expect(shown).to_have_count(21)
    with page.expect_response(lambda r: "cursor=" in r.url):
        wait_until_held(page, held).release()
    page.wait_for_timeout(300)  # time for the page's script to take the late answer
    ids = shown.evaluate_all("items => items.map(i => i.id.replace('comment-', ''))")
    assert ids == threads, "each thread once, in order"
