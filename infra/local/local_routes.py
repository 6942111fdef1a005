"""Routes that exist only in the twin, never in template.yaml (the gateway asks here first):

| method | path | does |
|---|---|---|
| GET | /_local/mail[?to=address] | every email SES was asked to send, decoded, newest last |
| DELETE | /_local/mail | forgets them |
| GET | /_local/config | endpoints, user pool, client id, issuer, tables, demo users |
| POST | /_local/invoke/<Function>[?at=ISO time] | runs a scheduled function as EventBridge would |
| POST | /_local/sns/<TopicLogicalId> | delivers a JSON message to the topic's functions |
| POST | /_local/drain[?timeout=seconds] | waits until the stream pump has processed every record |
"""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from urllib.parse import parse_qs, unquote

from infra.local import aws_twin

PREFIX = "/_local"
EVENTS_DIR_SAMPLE = "sns-notification.json"


# ---------------------------------------------------------------- the mail view


def _addresses(values: list[str]) -> list[str]:
    return [addr for _name, addr in getaddresses(values) if addr]


def _unique(addresses: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for address in addresses:
        seen.setdefault(address, None)
    return list(seen)


def _decode_raw(raw: str) -> dict[str, Any]:
    msg = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    attachments = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        content_type = part.get_content_type()
        item: dict[str, Any] = {
            "filename": part.get_filename(),
            "content_type": content_type,
            "size": len(payload),
        }
        if part.get_content_maintype() == "text":
            item["text"] = payload.decode(part.get_content_charset() or "utf-8", "replace")
        attachments.append(item)
    headers: dict[str, str] = {}
    for name, value in msg.items():
        headers[name] = str(value) if name not in headers else f"{headers[name]}, {value}"
    return {
        "from": str(msg.get("From", "")),
        "to": _addresses(msg.get_all("To", [])),
        "cc": _addresses(msg.get_all("Cc", [])),
        "subject": str(msg.get("Subject", "")),
        "text": text_part.get_content() if text_part is not None else None,
        "html": html_part.get_content() if html_part is not None else None,
        "headers": headers,
        "attachments": attachments,
    }


def mail_item(message: Any, sent_at: datetime) -> dict[str, Any]:
    """One message of moto's SES backend, as the mail view shows it."""
    item: dict[str, Any] = {"id": message.id}
    if hasattr(message, "raw_data"):  # SendRawEmail, or SES v2 Content.Raw
        item.update(_decode_raw(message.raw_data))
        envelope = _addresses([a for a in (message.destinations or []) if a])
        if not item["to"]:
            item["to"] = [a for a in envelope if a not in item["cc"]]
        item["from"] = item["from"] or (message.source or "")
        item["recipients"] = _unique(item["to"] + item["cc"] + envelope)
    elif hasattr(message, "body"):  # SendEmail / SES v2 Content.Simple (moto keeps one body)
        body = message.body or ""
        is_html = body.lstrip().startswith("<")
        dest = message.destinations or {}
        item.update(
            {
                "from": message.source,
                "to": list(dest.get("ToAddresses", [])),
                "cc": list(dest.get("CcAddresses", [])),
                "subject": message.subject,
                "text": None if is_html else body,
                "html": body if is_html else None,
                "headers": {},
                "attachments": [],
            }
        )
        item["recipients"] = _unique(item["to"] + item["cc"] + list(dest.get("BccAddresses", [])))
    else:  # templated sends: moto keeps the template name and data only
        dest = getattr(message, "destinations", {}) or {}
        to = dest.get("ToAddresses", []) if isinstance(dest, Mapping) else []
        item.update(
            {
                "from": getattr(message, "source", ""),
                "to": list(to),
                "cc": [],
                "subject": f"(template {getattr(message, 'template', '?')})",
                "text": getattr(message, "template_data", None),
                "html": None,
                "headers": {},
                "attachments": [],
            }
        )
        item["recipients"] = list(item["to"])
    item["sent_at"] = sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return item


# A sent message never changes, and parsing MIME is slow: each is parsed once. Without
# this, a page polling the mail view re-parsed every message sent so far on each poll,
# and after a few thousand messages that alone kept the twin's requests waiting.
_PARSED: dict[str, dict[str, Any]] = {}


def _parsed(message: Any, sent_at: datetime) -> dict[str, Any]:
    item = _PARSED.get(message.id)
    if item is None:
        item = _PARSED[message.id] = mail_item(message, sent_at)
    return item


def mail_view(to: str | None = None) -> list[dict[str, Any]]:
    sent = aws_twin.sent_mail()
    live = {m.id for m, _ in sent}
    for gone in [k for k in list(_PARSED) if k not in live]:  # the twin's mail was cleared
        _PARSED.pop(gone, None)
    items = [_parsed(m, at) for m, at in sent]
    if to:
        wanted = to.strip().lower()
        items = [i for i in items if wanted in {a.lower() for a in i["recipients"]}]
    return items


# ---------------------------------------------------------------- the routes


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, indent=2, default=str).encode()


def _error(status: int, code: str, message: str, fields: Mapping[str, str] | None = None) -> Reply:
    return Reply(
        status, {"error": {"code": code, "message": message, "fields": dict(fields or {})}}
    )


@dataclass
class LocalRoutes:
    """The twin's own routes. `config` is what GET /_local/config answers; runtime,
    scheduler, pump and topics are what the other routes drive (any may be None while the
    twin starts, or when a piece is not running)."""

    config: dict[str, Any]
    doc: Mapping[str, Any]
    runtime: Any = None
    scheduler: Any = None
    pump: Any = None
    topics: dict[str, str] = field(default_factory=dict)
    account_id: str = aws_twin.ACCOUNT_ID
    region: str = aws_twin.REGION
    drain_timeout: float = 30.0
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # ------------------------------------------------------------ dispatch

    def handle(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> Reply | None:
        """A reply for a /_local route, or None for any other path (the API's)."""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return None
        method = method.upper()
        parts = [unquote(p) for p in path[len(PREFIX) :].strip("/").split("/") if p]
        name = parts[0] if parts else ""
        arg = "/".join(parts[1:])
        try:
            if name == "mail" and not arg:
                if method == "GET":
                    return Reply(200, mail_view(_first(query, "to")))
                if method == "DELETE":
                    return Reply(200, {"cleared": aws_twin.clear_mail()})
                return _not_allowed("GET, DELETE")
            if name == "config" and not arg:
                if method != "GET":
                    return _not_allowed("GET")
                if not self.config:  # the gateway is up a moment before the config is
                    return _error(503, "unavailable", "The twin is still starting.")
                return Reply(200, self.config)
            if name == "invoke" and arg:
                return (
                    self._invoke(arg, _first(query, "at"))
                    if method == "POST"
                    else _not_allowed("POST")
                )
            if name == "sns" and arg:
                return self._sns(arg, body) if method == "POST" else _not_allowed("POST")
            if name == "drain" and not arg:
                timeout = float(_first(query, "timeout") or self.drain_timeout)
                return self._drain(timeout) if method == "POST" else _not_allowed("POST")
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        except Exception as exc:  # the function failed: say which and how, as Lambda would
            error = getattr(exc, "error", exc)
            error_type = getattr(exc, "error_type", type(exc).__name__)
            return _error(
                502,
                "function_error",
                f"{getattr(exc, 'logical_id', name)} failed: {error_type}: {error}",
            )
        return _error(404, "not_found", "There is no such route in the twin.", {"path": path})

    def __call__(self, request: Any) -> Any:
        """The gateway's callback: its LocalRequest in, its LocalResponse out (or None)."""
        from infra.local import gateway  # the gateway's own request and response types

        query = _query_of(request)
        body = getattr(request, "body", b"") or b""
        if isinstance(body, str):
            body = body.encode()
        reply = self.handle(request.method, request.path, query, body)
        if reply is None:
            return None
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store", **reply.headers}
        return gateway.LocalResponse(status=reply.status, headers=headers, body=reply.encoded())

    # ------------------------------------------------------------ the actions

    def function_id(self, name: str) -> str:
        """ "Reminders" or "RemindersFunction" -> "RemindersFunction"."""
        known = [
            fn
            for fn, res in self.doc.get("Resources", {}).items()
            if res.get("Type") in {"AWS::Serverless::Function", "AWS::Lambda::Function"}
        ]
        for candidate in (name, f"{name}Function"):
            if candidate in known:
                return candidate
        lowered = {fn.lower(): fn for fn in known}
        for candidate in (name.lower(), f"{name.lower()}function"):
            if candidate in lowered:
                return lowered[candidate]
        raise KeyError(name)

    def _invoke(self, name: str, at: str | None) -> Reply:
        try:
            logical_id = self.function_id(name)
        except KeyError:
            return _error(
                404, "not_found", f"No function {name} in template.yaml.", {"function": name}
            )
        when = _parse_time(at) if at else self.now()
        if self.scheduler is None:
            return _error(503, "unavailable", "The scheduler is not running.")
        result = self.scheduler.invoke_at(logical_id, when)
        return Reply(200, {"function": logical_id, "at": _iso(when), "result": _jsonable(result)})

    def _sns(self, topic: str, body: bytes) -> Reply:
        if topic not in self.doc.get("Resources", {}):
            return _error(404, "not_found", f"No topic {topic} in template.yaml.", {"topic": topic})
        if self.runtime is None:
            return _error(503, "unavailable", "The functions are not running.")
        try:
            message = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "malformed", "Send the SNS message as JSON.", {"body": "malformed"})
        topic_arn = self.topics.get(topic) or (
            f"arn:aws:sns:{self.region}:{self.account_id}:{aws_twin.STACK}-{topic}"
        )
        event = sns_event(topic_arn, message, now=self.now())
        results = []
        for logical_id in subscribers(self.doc, topic):
            results.append(
                {
                    "function": logical_id,
                    "result": _jsonable(self.runtime.invoke(logical_id, event)),
                }
            )
        return Reply(200, {"topic": topic, "delivered_to": results})

    def _drain(self, timeout: float) -> Reply:
        if self.pump is None:
            return Reply(200, {"drained": True, "note": "no stream pump is running"})
        result = self.pump.drain(timeout)
        drained = True if result is None else bool(result)
        return Reply(200 if drained else 504, {"drained": drained, "timeout": timeout})


# ---------------------------------------------------------------- helpers


def subscribers(doc: Mapping[str, Any], topic: str) -> list[str]:
    """Functions with a `Type: SNS` event whose Topic is a Ref to `topic`."""
    found = []
    for logical_id, res in doc.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((res.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "SNS":
                continue
            target = (event.get("Properties") or {}).get("Topic")
            if target == {"Ref": topic} or target == topic:
                found.append(logical_id)
                break
    return found


def sns_event(
    topic_arn: str, message: Any, *, now: datetime, subject: str | None = None
) -> dict[str, Any]:
    """An SNS notification as Lambda receives it (the shape of events/sns-notification.json)."""
    text = message if isinstance(message, str) else json.dumps(message)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": text,
                    "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{now.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "TWIN",
                    "SigningCertUrl": "http://127.0.0.1/twin-has-no-certificate.pem",
                    "UnsubscribeUrl": "http://127.0.0.1/twin-has-no-unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


def _query_of(request: Any) -> dict[str, list[str]]:
    for attr in ("multi_query", "multi_value_query", "query"):
        value = getattr(request, attr, None)
        if isinstance(value, Mapping):
            return {k: (list(v) if isinstance(v, list | tuple) else [v]) for k, v in value.items()}
    raw = getattr(request, "query_string", None) or getattr(request, "raw_query", "") or ""
    return parse_qs(raw)


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise ValueError(f"at={text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ValueError(f"at={text!r} needs a zone, e.g. 2021-07-21T11:00:00Z")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return repr(value)


def _not_allowed(allowed: str) -> Reply:
    reply = _error(405, "method_not_allowed", f"Use {allowed}.")
    reply.headers["Allow"] = allowed
    return reply
