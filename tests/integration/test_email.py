"""Email through the twin: an outbox item written to DynamoDB Local goes through the
stream pump to Notifications and moto's SES, and shows up decoded in /_local/mail;
SES feedback delivered through SNS suppresses an address; one-click unsubscribe over HTTP;
SES throttling or pausing for a while sends every message exactly once; a poison record
ends in the DLQ; HTML in a variable arrives escaped.

This module starts a twin of its own (unless CONVENE_TWIN_URL names one): its functions
reach SES through `SesProxy`, a small HTTP proxy in front of moto that fails SendEmail to
chosen addresses the way SES fails (429 TooManyRequestsException, 400
SendingPausedException) and counts what it let through. The twin's code is unchanged:
the proxy is only its `AWS_ENDPOINT_URL_SESV2`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from convene.db import from_item, to_item
from convene.email import outbox
from icalendar import Calendar

from tests.integration import twin as twin_module
from tests.integration.twin import Twin, TwinProcess
from tests.unit.email.samples import message

WHEN = "11:00-12:30 BST, Thursday 22 July 2021"
SCRIPT = "<script>alert(1)</script>"
SEND_EMAIL = "/v2/email/outbound-emails"


# ---------------------------------------------------------------- SES with faults


@dataclass
class SesProxy:
    """Between the twin's functions and moto's SES v2. Every call is forwarded, except a
    SendEmail to an address that has faults left: it gets the next one instead (the HTTP
    answer SES gives), and nothing is sent. `accepted` counts, per address, the sends moto
    took; `refused` the ones answered with a fault."""

    upstream: str = ""
    faults: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, address: str, status: int, code: str, times: int) -> None:
        with self.lock:
            self.faults.setdefault(address.lower(), []).extend([(status, code)] * times)

    def _recipients(self, body: bytes) -> list[str]:
        request = json.loads(body or b"{}")
        raw = base64.b64decode(request.get("Content", {}).get("Raw", {}).get("Data", ""))
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        destination = request.get("Destination") or {}
        listed = [str(v) for v in parsed.get_all("To", [])] + list(
            destination.get("ToAddresses", [])
        )
        return [address.lower() for _name, address in getaddresses(listed) if address]

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        sending = method == "POST" and urlsplit(path).path == SEND_EMAIL
        recipients = self._recipients(body) if sending else []
        with self.lock:
            for address in recipients:
                if self.faults.get(address):
                    status, code = self.faults[address].pop(0)
                    self.refused[address] += 1
                    payload = json.dumps({"message": f"{code} (injected by the test)"})
                    return status, {"x-amzn-ErrorType": code}, payload.encode()
        if not self.upstream:
            return 503, {"x-amzn-ErrorType": "ServiceUnavailable"}, b'{"message": "no upstream"}'
        forwarded = {
            k: v
            for k, v in headers.items()
            if k.lower() not in {"host", "content-length", "connection", "transfer-encoding"}
        }
        response = requests.request(
            method, self.upstream + path, headers=forwarded, data=body, timeout=30
        )
        if sending and response.status_code == 200:
            with self.lock:
                for address in recipients:
                    self.accepted[address] += 1
        kept = {"Content-Type": response.headers.get("Content-Type", "application/json")}
        for name, value in response.headers.items():
            if name.lower().startswith("x-amz"):
                kept[name] = value
        return response.status_code, kept, response.content

    def start(self) -> SesProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = proxy.answer(
                    self.command, self.path, dict(self.headers.items()), body
                )
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

            def log_message(self, *_: Any) -> None:  # quiet: requests carry addresses
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class EmailTwin:
    twin: Twin
    # None: a twin this module did not start (CONVENE_TWIN_URL), so no faults and no log.
    ses: SesProxy | None = None
    process: TwinProcess | None = None

    def faulty_ses(self) -> SesProxy:
        if self.ses is None:
            pytest.skip("SES faults need a twin this module starts (CONVENE_TWIN_URL is set)")
        return self.ses

    def logged(self, message: str, outbox_key: str) -> int:
        """How many of the functions' log lines say `message` about this outbox item."""
        assert self.process is not None
        count = 0
        for line in self.process.output().splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == message and entry.get("outbox") == outbox_key:
                count += 1
        return count


def _moto_port(args: list[str]) -> str:
    return str(args[args.index("--moto-port") + 1])


@pytest.fixture(scope="module")
def email_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmailTwin]:
    url = os.environ.get("CONVENE_TWIN_URL")
    if url:
        yield EmailTwin(Twin(url))
        return
    ses = SesProxy().start()
    environment = twin_module.twin_environment
    with pytest.MonkeyPatch.context() as patch:
        # Service-specific endpoints win over AWS_ENDPOINT_URL: only SES v2 goes through it.
        patch.setattr(
            twin_module,
            "twin_environment",
            lambda: {**environment(), "AWS_ENDPOINT_URL_SESV2": ses.url},
        )
        process = TwinProcess(tmp_path_factory.mktemp("email-twin"))
    args = process.proc.args
    assert isinstance(args, list)
    ses.upstream = f"http://127.0.0.1:{_moto_port([str(a) for a in args])}"
    try:
        started = process.wait_ready()
        ses.upstream = str(started.config["moto_endpoint"]).rstrip("/")
        yield EmailTwin(started, ses, process)
    finally:
        process.stop()
        ses.stop()


@pytest.fixture
def twin(email_twin: EmailTwin) -> Twin:
    return email_twin.twin


# ---------------------------------------------------------------- the outbox


def _address(name: str) -> str:
    # Unique per run, so a twin reused across runs never mixes up its mail.
    return f"{name}+{uuid.uuid4().hex[:8]}@example.net"


def _dynamodb(twin: Twin) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=twin.config["dynamodb_endpoint"],
        region_name=twin.config["region"],
        aws_access_key_id="twin",
        aws_secret_access_key="twin",
    )


def _write(twin: Twin, item: dict[str, Any]) -> None:
    _dynamodb(twin).put_item(TableName=twin.config["tables"]["OutboxTable"], Item=to_item(item))


def _queue(twin: Twin, kind: str, to: str, **data: Any) -> str:
    msg = message(kind, to=to, dedupe_key=f"TWIN#{uuid.uuid4().hex}", **data)
    _write(twin, outbox.item(msg))
    return msg.pk


def _outbox_item(twin: Twin, pk: str) -> dict[str, Any]:
    found = _dynamodb(twin).get_item(
        TableName=twin.config["tables"]["OutboxTable"], Key={"pk": {"S": pk}}, ConsistentRead=True
    )
    return from_item(found["Item"])


def test_an_outbox_item_becomes_a_readable_email_with_a_calendar_file(twin: Twin) -> None:
    to = _address("amara.okafor")
    pk = _queue(twin, "registration_confirmed", to)

    twin.drain()

    (sent,) = twin.mail(to=to)
    assert sent["to"] == [to] and sent["recipients"] == [to]
    assert sent["from"] == "Community Space <events@community.example.org>"
    assert sent["subject"] == "You're registered: Community Space"
    assert WHEN in sent["text"] and WHEN in sent["html"]
    assert "https://meet.example.org/community-space" in sent["text"]
    assert 'href="https://meet.example.org/community-space"' in sent["html"]
    (attachment,) = sent["attachments"]
    assert attachment["content_type"] == "text/calendar"
    assert attachment["filename"] == "invite.ics"
    calendar = Calendar.from_ical(attachment["text"])
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.events
    assert str(event["UID"]) == "convene-evt_cs2021jul-reg_7f3a9c"
    assert event.decoded("SEQUENCE") == 0
    assert event.decoded("DTSTART").isoformat() == "2021-07-22T10:00:00+00:00"
    assert WHEN in str(event["DESCRIPTION"])
    assert event.walk("VALARM")[0].decoded("TRIGGER").total_seconds() == -3600
    assert "List-Unsubscribe" not in sent["headers"]
    assert _outbox_item(twin, pk)["status"] == "sent"


def test_a_permanent_bounce_suppresses_the_address(twin: Twin) -> None:
    to = _address("jonah.reid")
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": to, "status": "5.1.1", "action": "failed"}],
            "timestamp": "2021-07-20T09:01:02.669Z",
            "feedbackId": "0102017ac1e3-twin-000000",
        },
        "mail": {"messageId": "0102017ac1e2-twin-000000", "destination": [to]},
    }

    delivered = twin.sns("EmailFeedbackTopic", bounce)

    assert [d["function"] for d in delivered["delivered_to"]] == ["EmailFeedbackFunction"]
    pk = _queue(twin, "registration_waitlisted", to)
    twin.drain()
    assert twin.mail(to=to) == []
    stored = _outbox_item(twin, pk)
    assert (stored["status"], stored["reason"]) == ("suppressed", "bounce")


def test_one_click_unsubscribe_stops_the_next_reminder(twin: Twin) -> None:
    to = _address("mei.lin")
    _queue(twin, "event_reminder", to)
    twin.drain()
    (first,) = twin.mail(to=to)
    link = first["headers"]["List-Unsubscribe"].strip("<>")
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    parts = urlsplit(link)
    response = twin.post(
        f"{parts.path}?{parts.query}",
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "unsubscribed", "kind": "reminders"}
    pk = _queue(twin, "event_reminder", to)
    twin.drain()
    assert len(twin.mail(to=to)) == 1
    assert _outbox_item(twin, pk)["status"] == "unsubscribed"


def test_a_poison_record_ends_in_the_dlq_and_blocks_no_one(twin: Twin) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=twin.config["moto_endpoint"],
        region_name=twin.config["region"],
        aws_access_key_id="twin",
        aws_secret_access_key="twin",
    )
    dlq = twin.config["queues"]["NotificationsDLQ"]
    to = _address("ruth.evans")
    poison = outbox.item(
        message("registration_confirmed", to=to, dedupe_key=f"TWIN#{uuid.uuid4().hex}")
    )
    poison["kind"] = "no_such_kind"
    _write(twin, poison)
    good = _queue(twin, "registration_cancelled", to)

    twin.drain(timeout=60)

    assert [m["subject"] for m in twin.mail(to=to)] == ["Registration cancelled: Community Space"]
    assert _outbox_item(twin, good)["status"] == "sent"
    stored = _outbox_item(twin, poison["pk"])
    assert stored["status"] == "pending" and "unknown kind" in stored["last_error"]
    deadline = time.monotonic() + 30
    records: list[dict[str, Any]] = []
    while not records and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        records = [json.loads(m["Body"]) for m in received.get("Messages", [])]
    assert records and "DDBStreamBatchInfo" in records[0]


def _bounce(to: str, bounce_type: str, sub_type: str) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [{"emailAddress": to, "status": "4.2.2", "action": "delayed"}],
            "timestamp": "2021-07-20T09:01:02.669Z",
            "feedbackId": "0102017ac1e3-twin-000001",
        },
        "mail": {"messageId": "0102017ac1e2-twin-000001", "destination": [to]},
    }


def test_a_transient_bounce_does_not_suppress_but_a_complaint_does(twin: Twin) -> None:
    mailbox_full, complained = _address("mei.lin"), _address("sam.patel")
    twin.sns("EmailFeedbackTopic", _bounce(mailbox_full, "Transient", "MailboxFull"))
    twin.sns(
        "EmailFeedbackTopic",
        {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": complained}],
                "timestamp": "2021-07-20T10:00:00.000Z",
                "feedbackId": "0102017ac1e4-twin-000000",
                "complaintFeedbackType": "abuse",
            },
            "mail": {"messageId": "0102017ac1e2-twin-000002", "destination": [complained]},
        },
    )

    still_mailed = _queue(twin, "registration_waitlisted", mailbox_full)
    # A complaint stops even mail nobody can opt out of.
    stopped = _queue(twin, "registration_cancelled", complained)
    twin.drain()

    assert len(twin.mail(to=mailbox_full)) == 1
    assert _outbox_item(twin, still_mailed)["status"] == "sent"
    assert twin.mail(to=complained) == []
    stored = _outbox_item(twin, stopped)
    assert (stored["status"], stored["reason"]) == ("suppressed", "complaint")


def test_html_in_a_variable_arrives_escaped_in_the_html_part(twin: Twin) -> None:
    to = _address("ola.nowak")
    _queue(twin, "organiser_message", to, name=SCRIPT, body=f"Bring tea.\n\n{SCRIPT}")

    twin.drain()

    (sent,) = twin.mail(to=to)
    assert "<script" not in sent["html"]
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in sent["html"]
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in sent["html"]
    # The text part is plain text: it shows what was typed, as typed.
    assert f"Hello {SCRIPT}," in sent["text"]


def _attempts_per_send() -> int:
    """How many times one SES call is tried (the first and botocore's retries): the
    functions' clients are made by convene.aws, as this one is."""
    from convene.aws import client

    return int(client("sesv2").meta.config.retries["total_max_attempts"])


def _queue_together(twin: Twin, *recipients: str) -> list[str]:
    """One confirmation per recipient, written in one transaction (as an event's
    cancellation writes one per registrant): their stream records arrive together, so
    the pump hands them to Notifications in one batch."""
    messages = [
        message("registration_confirmed", to=to, dedupe_key=f"TWIN#{uuid.uuid4().hex}")
        for to in recipients
    ]
    _dynamodb(twin).transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": twin.config["tables"]["OutboxTable"],
                    "Item": to_item(outbox.item(m)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for m in messages
        ]
    )
    return [m.pk for m in messages]


def test_ses_throttling_and_pausing_for_a_while_send_every_message_exactly_once(
    email_twin: EmailTwin,
) -> None:
    twin, ses = email_twin.twin, email_twin.faulty_ses()
    throttled, paused, fine = (_address(n) for n in ("amara.okafor", "jonah.reid", "ruth.evans"))
    # Throttled: as many 429s as one send makes attempts (botocore retries a throttle
    # itself), so its first delivery fails. Paused: two deliveries fail (a 400 is not
    # retried by botocore).
    ses.fail(throttled, 429, "TooManyRequestsException", times=_attempts_per_send())
    ses.fail(paused, 400, "SendingPausedException", times=2)
    everyone = (throttled, paused, fine)
    pks = dict(zip(everyone, _queue_together(twin, *everyone), strict=True))

    twin.drain(timeout=90)

    # Exactly once each: SES took one send per address, and one email each was sent.
    for to in everyone:
        assert ses.accepted[to.lower()] == 1, to
        assert len(twin.mail(to=to)) == 1, to
        assert _outbox_item(twin, pks[to])["status"] == "sent"
    assert ses.refused[throttled.lower()] == _attempts_per_send()
    assert ses.refused[paused.lower()] == 2
    # The failed records were reported as batch item failures and retried by the stream
    # (each claim counts an attempt); the one that went through was claimed once: the
    # retries that redelivered it found it sent and sent nothing.
    assert _outbox_item(twin, pks[throttled])["attempts"] == 2
    assert _outbox_item(twin, pks[paused])["attempts"] == 3
    assert _outbox_item(twin, pks[fine])["attempts"] == 1
    for to in (throttled, paused):
        assert "last_error" not in _outbox_item(twin, pks[to])


def test_a_retried_batch_redelivers_records_that_went_through_and_sends_nothing_twice(
    email_twin: EmailTwin,
) -> None:
    twin, ses = email_twin.twin, email_twin.faulty_ses()
    first, *others = (_address(n) for n in ("mei.lin", "sam.patel", "ola.nowak", "ruth.evans"))
    # The first record of the batch fails once: Lambda retries from it, so the whole batch
    # (the three that went through included) is delivered a second time.
    ses.fail(first, 400, "SendingPausedException", times=1)
    pks = _queue_together(twin, first, *others)

    twin.drain(timeout=60)

    for to, pk in zip((first, *others), pks, strict=True):
        assert ses.accepted[to.lower()] == 1, to
        assert len(twin.mail(to=to)) == 1, to
        stored = _outbox_item(twin, pk)
        assert stored["status"] == "sent"
        assert stored["attempts"] == (2 if to == first else 1)
    # Each of the others was delivered twice: sent the first time, found sent the second.
    assert email_twin.logged("email deferred", pks[0]) == 1
    for pk in pks[1:]:
        assert email_twin.logged("email sent", pk) == 1
        assert email_twin.logged("outbox item already handled", pk) == 1
