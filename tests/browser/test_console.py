"""The moderators' console in the browser: sign in with the user pool (moto's, in the
twin), the queues, claiming, deciding with the keyboard, undo, history, two moderators at
once, and 500 comments waiting."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages
from tests.browser.fill_queue import fill_queue
from tests.browser.helpers import (
    axe,
    describe,
    hold_first,
    screenshot,
    unique,
    wait_until_held,
)
from tests.integration.twin import Twin

POST = "this-is-your-community-space"


def console(pages: Pages, twin: Twin, role: str = "moderator", undo: int | None = 1) -> Page:
    """The console, signed in as a demo user. undo: the seconds a decision waits before it
    is sent (the page's default is 5)."""
    page = pages.new("/console/" + (f"?undo={undo}" if undo is not None else ""))
    sign_in(page, twin, role)
    return page


def sign_in(page: Page, twin: Twin, role: str = "moderator") -> None:
    user = twin.user(role)
    form = page.locator("form#sign-in")
    form.get_by_label("Email").fill(user["email"])
    form.get_by_label("Password").fill(user["password"])
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text(user["email"])


FILLER = re.compile(r"^Comment \d+ of \d+ \(")  # the text of fill_queue's comments


def claim_until(page: Page, twin: Twin, text: str, role: str = "moderator") -> None:
    """Claims batches until the comment with `text` is in this moderator's batch. A claim
    answers the moderator's held items first, so on a twin whose queue is long (a reused
    CONVENE_TWIN_URL) the held filler from fill_queue is rejected, through the API, to
    reach the comment."""
    page.get_by_label("How many").select_option("20")
    for _ in range(40):
        page.get_by_role("button", name="Claim the next batch").click()
        expect(page.locator("#status")).to_contain_text(re.compile("claimed|Nothing left"))
        if page.locator("#batch .item", has_text=text).count():
            return
        held = twin.post(
            "/moderation/claims",
            json={"queue": "pending", "count": 20},
            headers=twin.headers(role),
        ).json()["items"]
        filler = [
            {
                "comment_id": i["comment_id"],
                "action": "reject",
                "reason_code": "other",
                "note": "browser test filler",
                "version": i["version"],
            }
            for i in held
            if FILLER.match(i["body"]) and text not in i["body"]
        ]
        if not filler:
            break
        twin.post("/moderation/decisions", json={"decisions": filler}, headers=twin.headers(role))
        page.locator("#status").evaluate("node => node.replaceChildren()")
    raise AssertionError(f"the comment {text!r} was never claimed")


def batch_ids(page: Page) -> set[str]:
    ids = page.locator("#batch .item").evaluate_all("items => items.map(i => i.id)")
    return {i.removeprefix("item-") for i in ids}


def test_a_held_comment_is_claimed_approved_and_then_shown_with_the_count(
    pages: Pages, twin: Twin
) -> None:
    before = int(twin.get(f"/posts/{POST}/comments").json()["count"])
    reader = pages.new(f"/blog/{POST}")
    text = f"The July workshop helped me start a group. {unique('flow')}"
    form = reader.locator("form#comment-form")
    form.get_by_label("Name").fill("Eve Example")
    form.get_by_label("Email", exact=True).fill(f"{unique('eve')}@example.org")
    form.get_by_label("Comment", exact=True).fill(text)
    form.get_by_role("button", name="Post comment").click()
    expect(reader.locator("#comments-status")).to_contain_text("awaiting moderation")
    expect(reader.locator("#comment-list")).not_to_contain_text(text)

    page = console(pages, twin)
    expect(page.locator("#queue-pending .n")).to_have_text(re.compile(r"^\d+$"))
    assert int(page.locator("#queue-pending .n").inner_text()) >= 1
    expect(page.locator("#queue-pending .oldest")).to_contain_text("Oldest waiting")
    claim_until(page, twin, text)
    item = page.locator("#batch .item", has_text=text)
    item.click()
    screenshot(page, "console", docs=True)
    page.keyboard.press("a")  # approve
    expect(item.locator(".outcome")).to_have_text("Approved.", timeout=20_000)

    reader.reload()
    expect(reader.locator("#comment-list")).to_contain_text(text)
    expect(reader.locator("#read-comments")).to_have_text(f"Read comments {before + 1}")
    screenshot(reader, "post-comment-approved", docs=True)

    # A reader reports it: it joins the reported queue (and stays up, under the threshold).
    published = reader.locator("#comment-list .comment", has_text=text)
    published.get_by_role("button", name="Report").click()
    published.get_by_label("Why should a moderator look at this?").select_option("off_topic")
    published.get_by_role("button", name="Send report").click()
    expect(published).to_contain_text("a moderator will look at it")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#queue-reported .n")).not_to_have_text("0")


def test_two_consoles_as_two_moderators_never_show_the_same_claimed_item(
    pages: Pages, twin: Twin
) -> None:
    fill_queue(twin, 12, unique("two"))
    first = console(pages, twin, "moderator")
    second = console(pages, twin, "moderator2")
    for page in (first, second):
        page.get_by_label("How many").select_option("5")
    first.get_by_role("button", name="Claim the next batch").click()
    second.get_by_role("button", name="Claim the next batch").click()
    for page in (first, second):
        expect(page.locator("#status")).to_contain_text("You claimed")
    ones, twos = batch_ids(first), batch_ids(second)
    assert ones and twos
    assert not ones & twos, f"both hold {ones & twos}"
    # Again, now that each holds a batch: still nothing shared.
    first.get_by_role("button", name="Claim the next batch").click()
    second.get_by_role("button", name="Claim the next batch").click()
    first.wait_for_timeout(500)
    assert not batch_ids(first) & batch_ids(second)
    screenshot(second, "console-second-moderator")


def test_reject_needs_a_reason_and_undo_takes_a_decision_back_before_it_is_sent(
    pages: Pages, twin: Twin
) -> None:
    tag = unique("undo")
    fill_queue(twin, 2, tag)
    page = console(pages, twin, undo=5)
    claim_until(page, twin, tag)
    item = page.locator("#batch .item", has_text=tag).first
    comment_id = item.get_attribute("id").removeprefix("item-")
    item.click()
    page.keyboard.press("r")  # reject without a reason: refused, next to the reason
    reason = item.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("reason from the policy"))
    reason.select_option("off_topic")
    item.click(position={"x": 5, "y": 5})
    page.keyboard.press("r")
    expect(item).to_have_class(re.compile("pending-decision"))
    expect(page.locator("#undo")).to_contain_text("Rejected")
    screenshot(page, "console-undo", docs=True, around=item)
    page.keyboard.press("u")
    expect(item.locator(".outcome")).to_have_text("Undone: nothing was sent.")
    page.wait_for_timeout(6000)  # past the undo window: nothing went
    history = twin.get(
        f"/moderation/comments/{comment_id}/history", headers=twin.headers("moderator")
    )
    assert history.status_code == 200, history.text
    assert "rejected" not in history.text

    # Decided for real this time, then its history shows the decision.
    item.get_by_role("button", name="Approve").click()
    expect(item.locator(".outcome")).to_have_text("Approved.", timeout=20_000)
    item.get_by_role("button", name="History").click()
    expect(item.locator(".history")).to_contain_text("Approved")
    assert not (violations := axe(page)), describe(violations)


def test_a_member_who_is_not_a_moderator_is_told_so(pages: Pages, twin: Twin) -> None:
    page = console(pages, twin, "member")
    expect(page.locator("#status")).to_contain_text("not a moderator")
    expect(page.get_by_role("button", name="Claim the next batch")).to_be_hidden()


def test_the_console_stays_usable_with_500_comments_waiting(pages: Pages, twin: Twin) -> None:
    fill_queue(twin, 500, unique("load"))
    page = console(pages, twin, undo=1)
    depth = page.locator("#queue-pending .n")
    expect(depth).to_have_text(re.compile(r"^\d+$"))
    assert int(depth.inner_text()) >= 500
    # The queue is read a page at a time.
    rows = page.locator("#browse tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Show more").click()
    expect(rows).to_have_count(100)
    # A batch of 20 (the most one claim leases), decided from the keyboard: the focus
    # moves on to the next item.
    page.get_by_label("How many").select_option("20")
    page.get_by_role("button", name="Claim the next batch").click()
    items = page.locator("#batch .item")
    expect(items).to_have_count(20)
    items.first.click()
    page.keyboard.press("a")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("a")
    expect(items.nth(2)).to_be_focused()
    expect(items.nth(1).locator(".outcome")).to_have_text("Approved.", timeout=20_000)
    page.keyboard.press("k")
    expect(items.nth(1)).to_be_focused()
    screenshot(page, "console-500")
    assert not (violations := axe(page)), describe(violations)


def published(twin: Twin) -> set[str]:
    """The ids of the comments shown on the post, every page of it."""
    ids: set[str] = set()
    cursor = None
    while True:
        answer = twin.get(f"/posts/{POST}/comments", params={"cursor": cursor} if cursor else None)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        stack = list(page["comments"])
        while stack:
            comment = stack.pop()
            ids.add(comment["comment_id"])
            stack.extend(comment.get("replies") or [])
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def test_a_comment_caught_as_spam_shows_why_and_can_only_be_approved(
    pages: Pages, twin: Twin
) -> None:
    word = unique("spamword")
    block = {"kind": "word", "value": word}
    moderator = twin.headers("moderator")
    put = twin.put("/moderation/blocks", json=block, headers=moderator)
    assert put.status_code == 200, put.text
    try:
        text = f"Cheap watches, see {word} for more."
        submitted = twin.post(
            f"/posts/{POST}/comments",
            json={"name": "Sam Seller", "email": f"{unique('sam')}@example.org", "body": text},
        )
        assert submitted.status_code == 202, submitted.text  # quietly spam
        comment_id = submitted.json()["comment_id"]
        assert comment_id not in published(twin)

        page = console(pages, twin, undo=3)
        # The Spam card says something is kept, and when the next goes; its button shows
        # the spam queue in the table, with why each comment is there.
        card = page.locator("#queue-spam")
        expect(card.locator(".n")).to_have_text("Waiting")
        expect(card).to_contain_text(re.compile(r"The next is deleted \d+ \w+ \d{4}"))
        card.get_by_role("button", name="Show the spam queue").click()
        expect(page.locator("#browse-queue")).to_have_value("spam")
        expect(page.locator("#browse-queue")).to_be_focused()
        row = page.locator("#browse tr", has_text=word)
        expect(row).to_contain_text("blocked_word")

        page.locator("#claim-queue").select_option("spam")
        page.get_by_label("How many").select_option("20")
        page.get_by_role("button", name="Claim the next batch").click()
        expect(page.locator("#status")).to_contain_text("from the spam queue")
        item = page.locator(f"#item-{comment_id}")
        expect(item).to_contain_text(text)
        expect(item.locator(".spam-why")).to_contain_text("a blocked word (blocked_word)")
        expect(item.locator(".spam-why")).to_contain_text(re.compile(r"deleted \d+ \w+ \d{4}"))
        # One decision only: approve; no reason, no Reject, no Spam.
        approve = item.get_by_role("button", name="Not spam: approve")
        expect(approve).to_have_attribute("aria-keyshortcuts", "a")
        for name in ("Reject", "Spam"):
            expect(item.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(item.get_by_label("Reason")).to_have_count(0)
        expect(item.get_by_role("button", name="History")).to_be_visible()

        # r is refused in the page: nothing is sent.
        item.click(position={"x": 5, "y": 5})
        page.keyboard.press("r")
        expect(item.locator(".form-summary")).to_contain_text(
            "A comment caught as spam can only be approved."
        )
        expect(item).not_to_have_class(re.compile("pending-decision"))
        expect(page.locator("#undo")).to_be_empty()

        # Approve, undo, approve again: then it is sent and published.
        approve.click()
        expect(item).to_have_class(re.compile("pending-decision"))
        expect(item.locator(".form-summary")).to_be_empty()
        page.locator("#undo").get_by_role("button", name="Undo").click()
        expect(item.locator(".outcome")).to_have_text("Undone: nothing was sent.")
        expect(item.locator(".outcome")).to_be_visible()
        screenshot(page, "console-spam", around=item)
        assert not (violations := axe(page)), describe(violations)
        approve.click()
        expect(item.locator(".outcome")).to_have_text("Approved.", timeout=20_000)
        assert comment_id in published(twin)
        history = twin.get(f"/moderation/comments/{comment_id}/history", headers=moderator)
        assert history.status_code == 200, history.text
        assert [r["action"] for r in history.json()["items"]][-1] == "approve"
    finally:
        removed = twin.delete("/moderation/blocks", json=block, headers=moderator)
        assert removed.status_code == 204, removed.text


def test_the_queue_table_shows_the_queue_chosen_last_when_answers_cross(
    pages: Pages, twin: Twin
) -> None:
    """The first page of the pending queue is still on its way when the moderator picks
    the spam queue; the spam page comes back first. The late pending page must not replace
    it under a select that says Spam."""
    word = unique("crossword")
    moderator = twin.headers("moderator")
    put = twin.put("/moderation/blocks", json={"kind": "word", "value": word}, headers=moderator)
    assert put.status_code == 200, put.text
    try:
        submitted = twin.post(
            f"/posts/{POST}/comments",
            json={
                "name": "Sam Seller",
                "email": f"{unique('sam')}@example.org",
                "body": f"Cheap watches, see {word}.",
            },
        )
        assert submitted.status_code == 202, submitted.text  # quietly spam

        page = pages.new("/console/?undo=1")
        held = hold_first(page, re.compile(r"/moderation/queue\?queue=pending"))
        sign_in(page, twin)
        pending = wait_until_held(page, held)  # the console's first page, not yet answered

        page.locator("#browse-queue").select_option("spam")
        row = page.locator("#browse tr", has_text=word)
        expect(row).to_contain_text("blocked_word")

        with page.expect_response(lambda r: "queue=pending" in r.url):
            pending.release()
        page.wait_for_timeout(300)  # time for the page's script to take the late answer
        expect(page.locator("#browse-queue")).to_have_value("spam")
        expect(row).to_contain_text("blocked_word")
        # Every row is a spam row: each says why it was caught and when it goes.
        rows = page.locator("#browse tr").all_inner_texts()
        assert rows and all("deleted" in text for text in rows), rows
    finally:
        removed = twin.delete(
            "/moderation/blocks", json={"kind": "word", "value": word}, headers=moderator
        )
        assert removed.status_code == 204, removed.text


def test_the_queue_cards_never_go_back_to_older_figures(pages: Pages, twin: Twin) -> None:
    """The cards' first figures are still on their way (answered before a comment came in)
    when the moderator presses Refresh; the late first answer must not undo the newer."""
    page = pages.new("/console/?undo=1")
    held = hold_first(page, re.compile(r"/moderation/stats$"), answer_now=True)
    sign_in(page, twin)
    first = wait_until_held(page, held)
    fill_queue(twin, 1, unique("cards"))  # one more waiting than the held answer says
    now = twin.get("/moderation/stats", headers=twin.headers("moderator")).json()
    depth = str(now["queues"]["pending"]["depth"])

    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#queue-pending .n")).to_have_text(depth)
    with page.expect_response(re.compile(r"/moderation/stats$")):
        first.release()
    page.wait_for_timeout(300)  # time for the page's script to take the late answer
    expect(page.locator("#queue-pending .n")).to_have_text(depth)
