"""Comments over HTTP against the twin: the seeded post "This is your Community Space",
a guest and a signed-in member (a real Cognito token from the twin's user pool)."""

from __future__ import annotations

import uuid

from tests.integration.twin import Twin

POST_ID = "this-is-your-community-space"
COMMENTS = f"/posts/{POST_ID}/comments"


def _guest(body: str) -> dict[str, str]:
    # Unique per run, so a twin that is reused across runs never sees a duplicate.
    tag = uuid.uuid4().hex[:8]
    return {"name": "Jo Guest", "email": f"jo.guest+{tag}@example.org", "body": f"{body} ({tag})"}


def test_the_policy_is_public(twin: Twin) -> None:
    response = twin.get("/comment-policy")

    assert response.status_code == 200
    assert "off_topic" in [r["code"] for r in response.json()["reason_codes"]]


def test_a_guest_comment_is_pending_and_not_listed(twin: Twin) -> None:
    submitted = twin.post(COMMENTS, json=_guest("Thank you for starting this space."))

    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "pending"
    listing = twin.get(COMMENTS)
    assert listing.status_code == 200
    listed = [c["comment_id"] for c in listing.json()["comments"]]
    assert submitted.json()["comment_id"] not in listed
    assert "@" not in listing.text


def test_a_guest_form_post_answers_303_to_the_post(twin: Twin) -> None:
    submitted = twin.post(COMMENTS, data=_guest("Posted from a plain HTML form."))

    assert submitted.status_code == 303, submitted.text
    assert submitted.headers["Location"].endswith(f"/blog/{POST_ID}?comment=pending#comments")


def test_a_member_comments_with_a_real_token(twin: Twin) -> None:
    body = f"Looking forward to the next workshop ({uuid.uuid4().hex[:8]})."

    submitted = twin.post(
        COMMENTS,
        json={"body": body, "name": "Not My Name", "email": "not.me@example.org"},
        headers=twin.headers("member"),
    )

    # A new member has no approved comments yet, so the trust rule does not apply.
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "pending"
    assert "@" not in submitted.text


def test_a_forged_token_is_refused(twin: Twin) -> None:
    submitted = twin.post(
        COMMENTS, json=_guest("Hello"), headers={"Authorization": "Bearer not-a-token"}
    )

    assert submitted.status_code == 401
    assert set(submitted.json()["error"]) == {"code", "message", "fields"}


def test_counts_for_many_posts(twin: Twin) -> None:
    response = twin.get("/comment-counts", params=[("post", POST_ID), ("post", "no-such-post")])

    assert response.status_code == 200
    assert set(response.json()["counts"]) == {POST_ID, "no-such-post"}


def test_an_unknown_post_is_404(twin: Twin) -> None:
    response = twin.post("/posts/no-such-post/comments", json=_guest("Hello"))

    assert response.status_code == 404
