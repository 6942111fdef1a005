"""Privacy capture for the whole test session (a pytest plugin, loaded by tests/conftest.py).

"An email address, a token or an IP address never appears in a public response or in a
log line" (DESIGN.md). While the suite runs, this records:

* every response a `Twin` client gets (tests/integration/twin.py calls the observers): the
  body and headers of each public one (not `/_local/*`, not a route behind the Cognito
  authorizer: organisers and moderators may see addresses), and the secrets each request
  carried (bearer tokens, `token` parameters) and each email in the mail view carried
  (the links' tokens), so they can be looked for verbatim;
* the output of every twin a test started (`LOG_FILES`): every line after the start-up
  banner (which lists the demo users on purpose) is a log line of the gateway, the runtime
  or a function.

`tests/proof/test_privacy.py` runs last and fails on any finding. Endpoints of the twin
itself (`http://127.0.0.1:8000`) are infrastructure, not a person's address: an IP right
after `//` and before `:port` is not counted. A bare `127.0.0.1` is: in the twin every
client's source IP is 127.0.0.1, so a handler that logs the caller's IP shows up as one.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
LINK_TOKEN = re.compile(r"[?&;]token=([A-Za-z0-9_\-.~%]{12,})")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
BANNER_END = "Ctrl-C stops everything."
# Every token Convene issues is 32+ characters (link tokens: token_urlsafe(32); JWTs are
# matched by shape above). A shorter value a client sends, such as the word "unauthorized"
# from the fuzzer, is a word that error messages may well contain, not a secret.
MIN_SECRET = 24


def service_addresses() -> set[str]:
    """The service's own addresses (template parameters such as SenderAddress): they are
    no one's personal data and may be shown."""
    from infra.local import template

    out = set()
    for spec in (template.load().get("Parameters") or {}).values():
        default = str(spec.get("Default", ""))
        if EMAIL.fullmatch(default):
            out.add(default.lower())
    return out


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    sample: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.where}: {self.sample}"


def _redact(value: str) -> str:
    return value if len(value) <= 10 else f"{value[:6]}...{value[-3:]} ({len(value)} chars)"


def _excerpt(text: str, start: int, end: int) -> str:
    before = text[max(0, start - 40) : start]
    after = text[end : end + 40]
    return f"...{before}[{_redact(text[start:end])}]{after}...".replace("\n", " ")


def _is_ip(candidate: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if address.version == 6:
        # "11:00:00" is a time, not an address: an IPv6 address here has "::" or 8 groups.
        return ("::" in candidate and candidate.strip(":") != "") or candidate.count(":") == 7
    return True


def _endpoint(text: str, start: int, end: int) -> bool:
    """An address in a URL's host with a port (http://127.0.0.1:8000): the twin's own."""
    return text[max(0, start - 2) : start] == "//" and text[end : end + 1] == ":"


def scan_text(
    text: str, where: str, *, secrets: Iterable[str] = (), allowed_emails: Iterable[str] = ()
) -> list[Finding]:
    """Emails, JWTs, link tokens, IP addresses and known secrets in `text`."""
    allowed = {a.lower() for a in allowed_emails}
    found: list[Finding] = []
    for m in EMAIL.finditer(text):
        if m.group(0).lower() not in allowed:
            found.append(Finding(where, "email address", _excerpt(text, *m.span())))
    for m in JWT.finditer(text):
        found.append(Finding(where, "token (JWT)", _excerpt(text, *m.span())))
    for m in LINK_TOKEN.finditer(text):
        found.append(Finding(where, "token (link)", _excerpt(text, *m.span(1))))
    for pattern in (IPV4, IPV6):
        for m in pattern.finditer(text):
            if _is_ip(m.group(0)) and not _endpoint(text, *m.span()):
                found.append(Finding(where, "IP address", _excerpt(text, *m.span())))
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            at = text.find(secret)
            if at >= 0:
                found.append(
                    Finding(where, "a token the client sent", _excerpt(text, at, at + len(secret)))
                )
    return found


def log_lines(text: str) -> str:
    """A twin's output without its start-up banner (which lists the demo users)."""
    at = text.rfind(BANNER_END)
    return text[at + len(BANNER_END) :] if at >= 0 else text


@dataclass
class Recorder:
    """What the session's Twin clients saw."""

    public: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    secrets: set[str] = field(default_factory=set)
    exchanges: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _routes: Any = None

    def _route_is_public(self, raw_path: str) -> bool:
        if raw_path.startswith("/_local/") or raw_path == "/_local":
            return False
        if self._routes is None:
            from bench.routes import api_routes
            from infra.local import template
            from infra.local.gateway import RouteTable

            table = RouteTable(template.load())
            protected = {r.path for r in api_routes() if r.protected}
            self._routes = (table, protected)
        table, protected = self._routes
        match = table.match(raw_path)
        return match is None or match.resource not in protected

    def _request_secrets(self, request: Any) -> set[str]:
        out: set[str] = set()
        auth = (request.headers or {}).get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip()
        if token:
            out.add(token)
        split = urlsplit(request.url or "")
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            if name.lower() == "token" and value:
                out.add(value)
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if isinstance(body, str) and '"token"' in body:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("token"), str):
                out.add(data["token"])
        return out

    def observe(self, response: Any) -> None:
        try:
            self._observe(response)
        except Exception as exc:  # never break the test that made the request
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _observe(self, response: Any) -> None:
        request = response.request
        raw_path = urlsplit(request.url or "").path or "/"
        secrets = self._request_secrets(request)
        text = response.content.decode("utf-8", "replace") if response.content else ""
        if raw_path.startswith("/_local/mail"):
            # The links in the emails carry the registrants' tokens: remember them.
            for m in LINK_TOKEN.finditer(text):
                secrets.add(unquote(m.group(1)))
        public = self._route_is_public(raw_path)
        with self._lock:
            self.exchanges += 1
            self.secrets |= secrets
            if public:
                headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
                where = f"{request.method} {raw_path} -> {response.status_code}"
                self.public.append((where, f"{headers}\n\n{text}"))

    def findings(self, log_files: Iterable[Path]) -> list[Finding]:
        allowed = service_addresses()
        with self._lock:
            public = list(self.public)
            secrets = set(self.secrets)
        found: list[Finding] = []
        for where, text in public:
            found += scan_text(
                text, f"public response {where}", secrets=secrets, allowed_emails=allowed
            )
        for path in log_files:
            if not Path(path).is_file():
                continue
            text = log_lines(Path(path).read_text(errors="replace"))
            for number, line in enumerate(text.splitlines(), 1):
                found += scan_text(
                    line,
                    f"log {Path(path).parent.name}/{Path(path).name} line {number}",
                    secrets=secrets,
                    allowed_emails=allowed,
                )
        return found


RECORDER = Recorder()


def log_files() -> list[Path]:
    from tests.integration import twin

    return list(dict.fromkeys(twin.LOG_FILES))


# ---------------------------------------------------------------- the plugin


def pytest_configure(config: pytest.Config) -> None:
    from tests.integration import twin

    if RECORDER.observe not in twin.OBSERVERS:
        twin.OBSERVERS.append(RECORDER.observe)


RUNS_LAST = (
    "tests/proof/test_privacy.py::test_the_integration",
    "tests/proof/test_scan_guard.py::test_the_twins",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The session-wide checks run after every other test."""
    last = [i for i in items if i.nodeid.startswith(RUNS_LAST)]
    if last:
        items[:] = [i for i in items if i not in last] + last


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzzer's count and pace, for the record (tests/proof/test_fuzz.py)."""
    import sys

    fuzz = sys.modules.get("tests.proof.test_fuzz")
    for line in getattr(fuzz, "SUMMARY", []) or []:
        terminalreporter.write_sep("-", "proof: fuzzing")
        terminalreporter.write_line(line)
    convene_aws = sys.modules.get("convene.aws")
    if convene_aws is not None and hasattr(convene_aws, "SCAN_MARKER"):
        marker = convene_aws.SCAN_MARKER
        in_twins = sum(
            p.read_text(errors="replace").count(marker) for p in log_files() if p.is_file()
        )
        terminalreporter.write_line(
            f"Scan calls by convene code: {len(convene_aws.scan_calls())} in this process, "
            f"{in_twins} in the twins' logs ({len(log_files())} twin(s))"
        )
