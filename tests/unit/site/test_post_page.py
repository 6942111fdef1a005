"""A blog post's page carries its first page of approved comments in the HTML, so they
can be read with JavaScript off; a comment's body is sanitised again on the way in."""

from __future__ import annotations

from typing import Any

from infra.site.api import PublicApi
from infra.site.render import Site, post_ids

POST = "this-is-your-community-space"


class FakeApi(PublicApi):
    """The public API's answers, without HTTP."""

    def __init__(self, page: dict[str, Any] | None) -> None:
        super().__init__("http://api.invalid")
        self.page = page
        self.asked: list[tuple[str, int]] = []

    def comments(self, post_id: str, *, limit: int = 20) -> dict[str, Any] | None:
        self.asked.append((post_id, limit))
        return self.page


def comment(cid: str, author: str, body_html: str, **extra: Any) -> dict[str, Any]:
    return {
        "comment_id": cid,
        "post_id": POST,
        "parent_id": None,
        "depth": 1,
        "author_name": author,
        "by_member": False,
        "body_html": body_html,
        "created_at": "2026-11-28T10:42:00Z",
        "replies": [],
        **extra,
    }


def render(page: dict[str, Any] | None) -> str:
    assert POST in post_ids()
    rendered = Site(FakeApi(page)).post(POST)
    assert rendered is not None and rendered.status == 200
    return rendered.html


def test_the_approved_comments_and_their_replies_are_in_the_html() -> None:
    reply = comment(
        "cmt_reply",
        "Tom",
        "<p>Same here.</p>",
        parent_id="cmt_first",
        depth=2,
        by_member=True,
    )
    html = render(
        {
            "post_id": POST,
            "count": 2,
            "comments": [
                comment("cmt_first", "Priya", "<p>Three <em>ideas</em>.</p>", replies=[reply])
            ],
            "next_cursor": None,
        }
    )

    assert '<li class="comment" id="comment-cmt_first">' in html
    assert "<p>Three <em>ideas</em>.</p>" in html
    assert '<ol class="thread" aria-label="Replies to Priya">' in html
    assert '<li class="comment" id="comment-cmt_reply">' in html
    assert "Tom</span> (member)" in html
    assert '<time datetime="2026-11-28T10:42:00Z">28 November 2026</time>' in html
    assert 'id="comment-count">2<' in html
    assert "The comments show with JavaScript on" not in html


def test_a_body_with_markup_the_api_should_have_removed_is_cleaned_again() -> None:
    html = render(
        {
            "post_id": POST,
            "count": 1,
            "comments": [
                comment(
                    "cmt_x",
                    "<b>Mallory</b>",
                    '<p onclick="steal()">hi</p><script>steal()</script>'
                    '<a href="javascript:steal()">x</a>',
                )
            ],
            "next_cursor": None,
        }
    )

    assert "<script>steal()" not in html
    assert "onclick" not in html
    assert "javascript:steal" not in html
    assert "<b>Mallory</b>" not in html and "&lt;b&gt;Mallory&lt;/b&gt;" in html


def test_a_long_thread_says_the_rest_needs_javascript() -> None:
    html = render(
        {
            "post_id": POST,
            "count": 45,
            "comments": [comment(f"cmt_{n}", f"Reader {n}", "<p>Yes.</p>") for n in range(20)],
            "next_cursor": "opaque",
        }
    )

    assert html.count('<li class="comment"') == 20
    assert "These are the first comments; the rest" in html


def test_no_comments_yet_says_so_and_an_api_that_cannot_say_falls_back_to_the_script() -> None:
    empty = render({"post_id": POST, "count": 0, "comments": [], "next_cursor": None})
    down = render(None)

    assert "No comments yet: be the first." in empty
    assert '<li class="comment"' not in down
    assert "The comments show with JavaScript on" in down
