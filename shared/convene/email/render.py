"""Templates to text: each kind of email is `templates/<kind>.txt` (blocks `subject` and
`body`) and `templates/<kind>.html` (block `body`).

HTML templates autoescape, so a name like "<script>" arrives as text. A variable the
template needs and the data lacks is an error (StrictUndefined), never an empty gap:
such an item is a poison record, not an email with holes in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from convene.email.config import get_email_settings
from convene.email.outbox import KINDS
from convene.timefmt import parse_utc, when, zone, zone_label

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_utc(str(value))


def event_when(event: dict[str, Any], tz_name: str | None = None) -> str:
    """ "11:00-12:30 BST, Thursday 22 July 2021" for data["event"] (or data["previous"],
    whose zone is the event's)."""
    tz = tz_name or event["timezone"]
    return when(_moment(event["starts_at"]), _moment(event["ends_at"]), tz)


def moment_in(value: Any, tz_name: str) -> str:
    """One moment in a zone, named: "12:00 BST, Friday 23 July 2021"."""
    local = _moment(value).astimezone(zone(tz_name))
    return f"{local:%H:%M} {zone_label(local)}, {local:%A} {local.day} {local:%B %Y}"


def age(since: Any, until: Any) -> str:
    """How long something has waited, as a person says it: "3 hours", "2 days"."""
    minutes = max(0, int((_moment(until) - _moment(since)).total_seconds() // 60))
    if minutes < 60:
        amount, unit = minutes, "minute"
    elif minutes < 48 * 60:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes // (24 * 60), "day"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def paragraphs(text: Any) -> Markup:
    """Plain text someone typed, as escaped HTML paragraphs (blank line = new paragraph)."""
    blocks = [b.strip() for b in str(text).replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>\n").format(Markup("<br>\n").join(escape(line) for line in b.split("\n")))
        for b in blocks
    )


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(when=event_when, at=moment_in, age=age, paragraphs=paragraphs)
    return env


def _one_line(text: str) -> str:
    # A subject is a header: one line, and never long.
    return " ".join(text.split())[:200]


def render(
    kind: str,
    data: dict[str, Any],
    *,
    created_at: str,
    unsubscribe_url: str | None = None,
) -> Rendered:
    """Subject, text and HTML for one email. Raises jinja2's TemplateNotFound or
    UndefinedError for a kind without templates or data without a needed variable."""
    settings = get_email_settings()
    spec = KINDS.get(kind)
    optional = dict.fromkeys(spec.optional) if spec else {}
    context: dict[str, Any] = {
        "name": None,
        **optional,
        **data,
        "created_at": created_at,
        "unsubscribe_url": unsubscribe_url,
        "sign_off": settings.sender_name,
        "site_url": settings.site_url.rstrip("/"),
    }
    env = environment()
    text_template = env.get_template(f"{kind}.txt")
    html_template = env.get_template(f"{kind}.html")
    subject = _one_line(
        "".join(text_template.blocks["subject"](text_template.new_context(context)))
    )
    text = text_template.render(context).strip() + "\n"
    html = html_template.render({**context, "subject": subject})
    return Rendered(subject=subject, text=text, html=html)
