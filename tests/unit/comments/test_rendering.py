"""A comment's text becomes safe HTML: a small Markdown subset, then a strict sanitizer.
The raw text is kept for moderators."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from convene.comments import service
from convene.comments.render import to_html

from tests.unit.comments.conftest import GUEST, MODERATOR, Api, stored

REL = 'rel="nofollow ugc noopener"'


def test_paragraphs_emphasis_lists_and_quotes_are_rendered() -> None:
    text = (
        "Thank you for *starting* this **space**.\n\n"
        "> Members: register to join the event\n\n"
        "- share what works\n- plan the next one\n\n"
        "1. first\n2. second"
    )

    html = to_html(text)

    assert "<p>Thank you for <em>starting</em> this <strong>space</strong>.</p>" in html
    assert "<blockquote>\n<p>Members: register to join the event</p>\n</blockquote>" in html
    assert "<ul>\n<li>share what works</li>\n<li>plan the next one</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html


def test_links_are_kept_and_marked_as_user_content() -> None:
    html = to_html('See [the notes](https://community.example.org/notes "Notes").')

    assert html == (
        f'<p>See <a href="https://community.example.org/notes" {REL}>the notes</a>.</p>'
    )


def test_mailto_links_are_kept() -> None:
    assert to_html("[write to us](mailto:hello@community.example.org)") == (
        f'<p><a href="mailto:hello@community.example.org" {REL}>write to us</a></p>'
    )


@pytest.mark.parametrize(
    "text",
    [
        "# A heading",
        "```\ncode\n```",
        "    indented code",
        "`inline code`",
        "---",
        "Title\n=====",
        "| a | b |\n|---|---|\n| 1 | 2 |",
    ],
)
def test_markdown_outside_the_subset_stays_plain_text(text: str) -> None:
    html = to_html(text)

    assert not re.search(r"<(h\d|pre|code|hr|table)\b", html)


XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="#" onclick="alert(1)">click</a>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    "<style>@import 'javascript:alert(1)';</style>",
    '<input autofocus onfocus="alert(1)">',
    '<details open ontoggle="alert(1)">',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<!--<script>alert(1)</script>-->",
    "<<script>script>alert(1)<</script>/script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    '[click](https://ok.example "title\\" onmouseover=\\"alert(1))',
    '[click](https://ok.example" onmouseover="alert(1))',
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '![x](https://img.example/x.png" onerror="alert(1))',
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "[x](https://ok.example)<script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "*<svg onload=alert(1)>*",
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
]


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML (values unescaped,
    as the browser reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def handle_comment(self, data: str) -> None:
        self.found.append(("!--", {}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


ALLOWED = {"p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote"}


@pytest.mark.parametrize("payload", XSS)
def test_no_xss_payload_survives_rendering(payload: str) -> None:
    html = to_html(payload)

    for tag, attrs in elements(html):
        assert tag in ALLOWED, f"{payload!r} rendered as {html!r}"
        allowed_attrs = {"href", "rel"} if tag == "a" else set()
        assert set(attrs) <= allowed_attrs, f"{payload!r} rendered as {html!r}"
        href = "".join(attrs.get("href", "https://").split()).lower()
        assert href.startswith(("https://", "http://", "mailto:")), html
        if tag == "a":
            assert attrs["rel"] == "nofollow ugc noopener"


def test_every_link_carries_the_user_content_rel() -> None:
    html = to_html("[a](https://a.example) <https://b.example> [c](mailto:c@example.org)")

    assert html.count("<a ") == 3
    assert html.count(REL) == 3


def test_a_relative_link_loses_its_address() -> None:
    html = to_html("[home](/admin) [up](../../secrets)")

    assert "href" not in html


def test_the_raw_text_is_kept_for_moderators_and_readers_get_only_html(api: Api) -> None:
    body = "Hello <script>alert(1)</script> *there*"
    submitted = api.submit({**GUEST, "body": body})
    comment_id = submitted.json["comment_id"]
    service.apply_decision(comment_id, "approve", expected_version=1, moderator=MODERATOR)

    listed = api.list().json["comments"][0]

    assert stored(comment_id)["body"] == body
    assert service.list_queue("pending").items == []
    assert (
        listed["body_html"] == "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt; <em>there</em></p>"
    )
    assert "body" not in listed


def test_the_battery_sees_what_a_browser_would_build() -> None:
    # The check above is only as good as this parser: it must see a raw payload's element.
    assert elements("<img src=x onerror=alert(1)>") == [
        ("img", {"src": "x", "onerror": "alert(1)"})
    ]
