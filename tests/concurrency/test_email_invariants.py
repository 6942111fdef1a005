"""Email's invariant under real concurrency: threads against DynamoDB Local.

Two invocations of Notifications can hold the same outbox record at once (a stream batch
retried while the first attempt still runs, or a redrive from the DLQ). The claim is a
conditional update, so exactly one of them sends; the others defer or find it sent.

SES is replaced by a counting stand-in here (moto's server is not safe for concurrent
access, and what is under test is the claim in DynamoDB, not SES). It sleeps a little per
send, so the racers overlap while one holds the claim.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.unit.email.samples import message

RACERS = 8
MESSAGES = 25


class CountingSes:
    def __init__(self) -> None:
        self.sent: Counter[bytes] = Counter()
        self._lock = threading.Lock()

    def send(self, raw: bytes, kind: str, settings: object) -> str:
        time.sleep(0.05)
        # Each item of the test goes to its own address.
        with self._lock:
            self.sent[_to(raw)] += 1
            return f"ses-{sum(self.sent.values())}"


def _to(raw: bytes) -> bytes:
    for line in raw.splitlines():
        if line.lower().startswith(b"to:"):
            return line
    raise AssertionError("no To header")


@pytest.fixture
def ses(fresh_tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingSes]:
    from convene import secrets
    from convene.email import service
    from convene.email.config import get_email_settings

    monkeypatch.setenv("SENDER_ADDRESS", "events@community.example.org")
    monkeypatch.setenv("MODERATORS_ADDRESS", "moderators@community.example.org")
    monkeypatch.setenv("ORGANISERS_ADDRESS", "organisers@community.example.org")
    monkeypatch.setattr(secrets, "signing_key", lambda: b"concurrency-test-signing-key")
    get_email_settings.cache_clear()
    stand_in = CountingSes()
    monkeypatch.setattr(service, "_send", stand_in.send)
    yield stand_in
    get_email_settings.cache_clear()


def test_racing_invocations_send_each_outbox_item_exactly_once(ses: CountingSes) -> None:
    from convene.db import transact_write
    from convene.email import outbox, service

    pks = []
    for n in range(MESSAGES):
        queued = message(
            "event_reminder",
            to=f"guest{n:04d}@example.net",
            dedupe_key=f"REG#reg_{n:04d}#event_reminder#P1D",
        )
        transact_write([outbox.put(queued)])
        pks.append(queued.pk)

    start = threading.Barrier(RACERS)

    def invocation(pk: str) -> str:
        start.wait()
        try:
            return service.deliver(pk).status
        except service.DeliveryDeferred:
            return "deferred"

    outcomes: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        for pk in pks:
            start.reset()
            outcomes.update(pool.map(invocation, [pk] * RACERS))

    assert len(ses.sent) == MESSAGES, "every item was sent"
    assert set(ses.sent.values()) == {1}, "no item was sent twice"
    assert outcomes[service.SENT] == MESSAGES
    assert outcomes[service.SENT] + outcomes["deferred"] + outcomes[service.DONE_BEFORE] == (
        MESSAGES * RACERS
    )
    # Every item is marked sent, so a later redelivery sends nothing.
    for pk in pks:
        assert service.deliver(pk).status == service.DONE_BEFORE
    assert sum(ses.sent.values()) == MESSAGES
