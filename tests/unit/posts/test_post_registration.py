"""Organisers register blog posts so readers can comment on them."""

from __future__ import annotations

import pytest
from convene.errors import Invalid, NotFound
from convene.posts import service
from convene.posts.models import PostIn

ORGANISER_ID = "3f1c2a9e-organiser-ruth"
POST = PostIn(
    title="This is your Community Space",
    url="https://community.example.org/blog/this-is-your-community-space",  # type: ignore[arg-type]
)


def test_a_registered_post_can_be_read_back(aws: None) -> None:
    registered = service.register_post("this-is-your-community-space", POST, organiser=ORGANISER_ID)

    assert registered == service.get_post("this-is-your-community-space")
    assert registered.comments_open is True
    assert registered.url == "https://community.example.org/blog/this-is-your-community-space"


def test_registering_again_closes_comments_and_keeps_the_post(aws: None) -> None:
    service.register_post("this-is-your-community-space", POST, organiser=ORGANISER_ID)
    first = service.get_stored_post("this-is-your-community-space")

    closed = service.register_post(
        "this-is-your-community-space",
        POST.model_copy(update={"comments_open": False}),
        organiser=ORGANISER_ID,
    )

    assert closed.comments_open is False
    assert service.get_stored_post("this-is-your-community-space").created_at == first.created_at


def test_an_unknown_post_is_not_found(aws: None) -> None:
    with pytest.raises(NotFound):
        service.get_post("no-such-post")
    with pytest.raises(NotFound):
        service.get_post("../POST#x")


def test_a_post_id_must_be_a_slug(aws: None) -> None:
    with pytest.raises(Invalid):
        service.register_post("this is not a slug", POST, organiser=ORGANISER_ID)
