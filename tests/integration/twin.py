"""A client for a running twin: HTTP to its gateway, and its /_local helpers.

twin.get("/events").json()
twin.post("/admin/events", json=draft, headers=twin.headers("organiser"))
twin.mail(to="someone@example.org")      # what SES was asked to send, decoded
twin.invoke("Reminders", at="2021-07-21T11:00:00Z")
twin.drain()                             # wait until stream records are processed
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.dynamodb import free_port

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
START_TIMEOUT = 120.0

# Every exchange a Twin client makes is shown to these, and every twin a test starts adds
# its log here: the proof suite's privacy check reads both (tests/proof/privacy.py).
OBSERVERS: list[Callable[[requests.Response], None]] = []
LOG_FILES: list[Path] = []
# Passed on to the twins tests start (the Scan guard of convene.aws).
PASSED_ON = ("CONVENE_FORBID_SCAN",)


class Twin:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self._tokens: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Twin({self.base_url!r})"

    # ------------------------------------------------------------ HTTP

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)  # a form post's 303 is what tests look at
        response = self.session.request(method, self.url(path), **kw)
        for observe in OBSERVERS:
            observe(response)
        return response

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # ------------------------------------------------------------ the twin's own routes

    @cached_property
    def config(self) -> dict[str, Any]:
        response = self.get("/_local/config")
        response.raise_for_status()
        return dict(response.json())

    def user(self, role: str) -> dict[str, Any]:
        for user in self.config["users"]:
            if role in {user["role"], user["email"]}:
                return dict(user)
        raise KeyError(f"no demo user {role!r}")

    def id_token(self, role: str) -> str:
        """A real ID token from moto's user pool, signed in with the user's password."""
        if role not in self._tokens:
            from infra.local.aws_twin import id_token

            user = self.user(role)
            self._tokens[role] = id_token(
                self.config["moto_endpoint"],
                self.config["client_id"],
                user["email"],
                user["password"],
                region=self.config["region"],
            )
        return self._tokens[role]

    def headers(self, role: str | None = None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if role:
            headers["Authorization"] = f"Bearer {self.id_token(role)}"
        return headers

    def mail(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else None
        response = self.get("/_local/mail", params=params)
        response.raise_for_status()
        return list(response.json())

    def clear_mail(self) -> None:
        self.delete("/_local/mail").raise_for_status()

    def invoke(self, fn: str, at: str | datetime | None = None) -> dict[str, Any]:
        params = {}
        if at is not None:
            params["at"] = at.isoformat() if isinstance(at, datetime) else at
        response = self.post(f"/_local/invoke/{fn}", params=params)
        response.raise_for_status()
        return dict(response.json())

    def sns(self, topic: str, message: Any) -> dict[str, Any]:
        response = self.post(f"/_local/sns/{topic}", json=message)
        response.raise_for_status()
        return dict(response.json())

    def drain(self, timeout: float = 30) -> None:
        response = self.post("/_local/drain", params={"timeout": timeout}, timeout=timeout + 10)
        response.raise_for_status()


# ---------------------------------------------------------------- a twin of the test's own


def twin_environment() -> dict[str, str]:
    """The test process's environment without what the unit tests set for moto: the twin
    sets its own AWS and Powertools variables."""
    from tests.helpers import TABLE_ENV

    dropped = set(TABLE_ENV) | {"SITE_URL", "ALLOWED_ORIGIN", "SIGNING_SECRET_ARN"}
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith(("AWS_", "POWERTOOLS_", "CONVENE_")) or k in PASSED_ON)
        and k not in dropped
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


class TwinProcess:
    """`python -m infra.local up` as a child process in its own process group."""

    def __init__(self, data_dir: Path, *extra: str, persistent_dir: Path | None = None) -> None:
        """Logs under data_dir; DynamoDB Local in memory, or keeping its data under
        persistent_dir."""
        self.data_dir = data_dir
        self.gateway_port = free_port()
        self.log_path = data_dir / "twin.log"
        LOG_FILES.append(self.log_path)
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        storage = (
            ["--in-memory", "--data-dir", str(data_dir)]
            if persistent_dir is None
            else ["--data-dir", str(persistent_dir)]
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local",
                "up",
                *storage,
                "--gateway-port",
                str(self.gateway_port),
                "--dynamodb-port",
                str(free_port()),
                "--moto-port",
                str(free_port()),
                *extra,
            ],
            cwd=ROOT,
            env=twin_environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> Twin:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the twin exited with status {self.proc.returncode}:\n{self.output()}",
                    pytrace=False,
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/_local/config", timeout=2).status_code == 200:
                    return Twin(self.url)
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"the twin did not answer in {timeout:.0f}s:\n{self.output()}", pytrace=False)

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signum)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM to the twin's process group, SIGKILL if it does not stop in time."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode
