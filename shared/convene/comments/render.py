"""A comment's text to safe HTML: a small Markdown subset, then a strict sanitizer.

Two layers, so that a mistake in one is caught by the other: markdown-it-py (CommonMark,
raw HTML off, only paragraphs, emphasis, links, lists and quotes) builds the HTML, and nh3
keeps only the tags and the link schemes we allow and marks every link as user content.

Both are built on first use, not at import: the Comments function's cold start serves
reads too, and only a submission renders.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nh3
    from markdown_it import MarkdownIt

# The rules we keep, per chain; everything else the commonmark preset has is switched off
# (headings, code, images, raw HTML, reference definitions, ...).
_KEEP = {
    "core": {"normalize", "block", "inline", "text_join"},
    "block": {"paragraph", "list", "blockquote"},
    "inline": {"text", "newline", "escape", "entity", "emphasis", "link", "autolink"},
    "inline2": {"balance_pairs", "emphasis", "fragments_join"},
}

ALLOWED_TAGS = {"p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote"}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

# A link is anything a reader could follow: a scheme URL, a bare www. host or an email.
_LINK = re.compile(r"(?:\b(?:https?|ftp|mailto):|\bwww\.)", re.IGNORECASE)


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    drop = [
        rule
        for chain, rules in md.get_all_rules().items()
        for rule in rules
        if rule not in _KEEP.get(chain, set())
    ]
    md.disable(drop, ignoreInvalid=True)
    return md


@cache
def _cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        # "*" empty: no generic attributes (ammonia keeps lang and title on every tag).
        attributes={"a": {"href"}, "*": set()},
        url_schemes=ALLOWED_SCHEMES,
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def to_html(text: str) -> str:
    return _cleaner().clean(_markdown().render(text)).strip()


def count_links(text: str) -> int:
    return len(_LINK.findall(text))


REMOVED_HTML = "<p>[removed]</p>"
