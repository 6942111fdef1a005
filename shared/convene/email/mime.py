"""One rendered email as a MIME message, ready for SES's raw send.

    multipart/mixed
      multipart/alternative: text/plain, text/html
      text/calendar (invite.ics), when the email carries one

Everything is 7-bit clean (quoted-printable or base64), so any relay passes it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from convene.email.render import Rendered

_POLICY = policy.SMTP.clone(cte_type="7bit", max_line_length=78)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str]


def calendar_attachment(content: bytes, method: str) -> Attachment:
    return Attachment("invite.ics", content, "text", "calendar", {"method": method})


def build(
    rendered: Rendered,
    *,
    sender: str,
    sender_name: str,
    to: str,
    reply_to: str | None = None,
    unsubscribe_url: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    now: datetime | None = None,
) -> bytes:
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((sender_name, sender))
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 2369 + RFC 8058: mail clients offer an unsubscribe button that POSTs
        # "List-Unsubscribe=One-Click" to this URL; no confirmation page in between.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for item in attachments:
        message.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            params=item.params,
        )
    return message.as_bytes()
