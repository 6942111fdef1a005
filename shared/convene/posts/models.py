"""Posts: what organisers send and what anyone may see."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

POST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[str, Field(min_length=1, max_length=300)]
    url: HttpUrl = Field(description="Where the post lives on the community's pages.")
    comments_open: bool = True


class Post(BaseModel):
    """A post as stored. The comments capability may keep more on the item."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    url: str
    comments_open: bool
    organiser: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    # Kept by the comments capability: published (approved, not hidden) comments.
    comment_count: int = 0


class PostView(BaseModel):
    """A post as anyone may see it."""

    id: str
    title: str
    url: str
    comments_open: bool
    comment_count: int = Field(0, description="Published comments on the post.")

    @classmethod
    def of(cls, post: Post) -> PostView:
        return cls(
            id=post.id,
            title=post.title,
            url=post.url,
            comments_open=post.comments_open,
            comment_count=post.comment_count,
        )
