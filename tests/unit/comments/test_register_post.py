"""Organisers register a post and open or close its comments (PUT /admin/posts/{postId})."""

from __future__ import annotations

from tests.unit.comments.conftest import GUEST, ORGANISER, POST_ID, POST_URL, Api, publish

MEMBER_CLAIMS = {"sub": "8d7e6f5a-member-sam", "cognito:groups": "members"}


def test_an_organiser_registers_a_post_that_then_takes_comments(api: Api) -> None:
    answer = api.register_post(
        "planning-the-autumn-series",
        {
            "title": "Planning the autumn series",
            "url": "https://community.example.org/blog/planning-the-autumn-series",
        },
    )

    assert answer.status == 200
    assert answer.json == {
        "id": "planning-the-autumn-series",
        "title": "Planning the autumn series",
        "url": "https://community.example.org/blog/planning-the-autumn-series",
        "comments_open": True,
        "comment_count": 0,
    }
    submitted = api.submit({**GUEST, "body": "Count me in."}, post_id="planning-the-autumn-series")
    assert submitted.status == 202


def test_closing_and_reopening_comments_keeps_the_count(api: Api) -> None:
    publish()
    body = {"title": "This is your Community Space", "url": POST_URL}

    closed = api.register_post(POST_ID, {**body, "comments_open": False})
    reopened = api.register_post(POST_ID, {**body, "comments_open": True})

    assert closed.json["comments_open"] is False
    assert closed.json["comment_count"] == 1
    assert reopened.json["comment_count"] == 1
    assert api.list().json["count"] == 1


def test_a_closed_post_still_shows_its_comments(api: Api) -> None:
    comment_id = publish()
    api.register_post(
        POST_ID, {"title": "This is your Community Space", "url": POST_URL, "comments_open": False}
    )

    assert [c["comment_id"] for c in api.list().json["comments"]] == [comment_id]


def test_only_organisers_register_posts(api: Api) -> None:
    body = {"title": "A post", "url": "https://community.example.org/blog/a-post"}

    assert api.register_post("a-post", body, claims=None).status == 401
    assert api.register_post("a-post", body, claims=MEMBER_CLAIMS).status == 403
    assert api.register_post("a-post", body, claims=ORGANISER).status == 200


def test_a_post_needs_a_title_and_a_web_address(api: Api) -> None:
    answer = api.register_post("a-post", {"title": "", "url": "javascript:alert(1)"})

    assert answer.status == 422
    assert set(answer.json["error"]["fields"]) == {"title", "url"}
