"""The offline twin's command line.

    python -m infra.local up [--reset] [--in-memory] [--no-seed] [--template PATH]
                             [--data-dir .local] [--gateway-port 3000]
                             [--dynamodb-port 8000] [--moto-port 5005]
    python -m infra.local invoke FN [--at 2021-07-21T11:00:00Z]   (a running twin)
    python -m infra.local token ROLE                               (a running twin)

`up` starts everything on 127.0.0.1, step by step with timings, prints what is where, and
runs until Ctrl-C or SIGTERM, which stop every process and thread it started. A port of 0
picks a free one. See docs/local-stack.md.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (str(ROOT / "shared"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from infra.local import dynamodb as ddb  # noqa: E402
from infra.local.dynamodb import TwinSetupError  # noqa: E402

DEFAULT_URL = "http://127.0.0.1:3000"


# ---------------------------------------------------------------- output


_line = {"open": False}  # a progress line waits for its "ok"


def say(text: str = "", *, end: str = "\n") -> None:
    print(text, end=end, flush=True)
    _line["open"] = end != "\n"


def warn(text: str) -> None:
    if _line["open"]:
        say()
    print(f"  ! {text}", file=sys.stderr, flush=True)


class Progress:
    """ "[2/7] DynamoDB Local on :8000 ... ok (2.1s)", so a first start never looks hung."""

    def __init__(self, total: int) -> None:
        self.total, self.n = total, 0
        self.started = time.monotonic()

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[Callable[[str], None]]:
        self.n += 1
        say(f"[{self.n}/{self.total}] {label} ... ", end="")
        t0 = time.monotonic()
        detail: list[str] = []
        again = f"[{self.n}/{self.total}] {label} ... "
        try:
            yield detail.append
        except BaseException:
            say(f"{'' if _line['open'] else again}failed ({time.monotonic() - t0:.1f}s)")
            raise
        extra = f", {'; '.join(detail)}" if detail else ""
        say(f"{'' if _line['open'] else again}ok ({time.monotonic() - t0:.1f}s{extra})")


# ---------------------------------------------------------------- stopping cleanly


class Stack:
    """What `up` started, stopped in reverse order, once (atexit, signal or error)."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Callable[[], Any]]] = []
        self._lock = threading.Lock()
        self.closing = False

    def push(self, name: str, stop: Callable[[], Any]) -> None:
        with self._lock:
            self._items.append((name, stop))

    def close(self) -> None:
        with self._lock:
            items, self._items = self._items[::-1], []
            self.closing = True
        for name, stop in items:
            try:
                stop()
            except Exception as exc:
                warn(f"stopping {name}: {type(exc).__name__}: {exc}")


class Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install_signal_handlers(stack: Stack, emergency: Callable[[], None]) -> None:
    def handler(signum: int, _frame: Any) -> None:
        if stack.closing:
            # A second signal while stopping: do not wait any more.
            emergency()
            os._exit(128 + signum)
        raise Stop(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# ---------------------------------------------------------------- up


def _ports(args: argparse.Namespace) -> dict[str, int]:
    ports = {
        "gateway": args.gateway_port,
        "DynamoDB Local": args.dynamodb_port,
        "moto": args.moto_port,
    }
    for name, port in ports.items():
        if port == 0:
            ports[name] = ddb.free_port()
    flags = {
        "gateway": "--gateway-port",
        "DynamoDB Local": "--dynamodb-port",
        "moto": "--moto-port",
    }
    for name, port in ports.items():
        if not ddb.port_free(port):
            raise TwinSetupError(
                f"port {port} on 127.0.0.1 is already in use ({name}); "
                f"stop what uses it or choose another with {flags[name]}"
            )
    if len(set(ports.values())) != len(ports):
        raise TwinSetupError(f"the ports must differ: {ports}")
    return ports


def _static_dir(args: argparse.Namespace) -> Path | None:
    if args.static_dir:
        return Path(args.static_dir)
    for name in ("site", "web", "public"):
        candidate = ROOT / name
        if candidate.is_dir():
            return candidate
    return None


def _pages(static_dir: Path | None) -> Any:
    """The web pages rendered on request (infra/local/pages.py), next to the static
    files; none when the twin serves no web pages."""
    if static_dir is None:
        return None
    from infra.local.pages import SitePages

    return SitePages()


def up(args: argparse.Namespace) -> int:
    stack = Stack()
    atexit.register(stack.close)
    state: dict[str, Any] = {}

    def emergency() -> None:
        ddb.stop(state.get("dynamodb_proc"), timeout=2)

    install_signal_handlers(stack, emergency)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    progress = Progress(total=7)
    started = time.monotonic()
    try:
        # -------------------------------------------------- 1 environment
        with progress.step("environment") as detail:
            from infra.local import template

            java = ddb.java_version()
            jar = ddb.find_jar()
            ports = _ports(args)
            template_path = Path(args.template).resolve()
            if not template_path.is_file():
                raise TwinSetupError(f"no template at {template_path}")
            doc = template.load(template_path)
            data_dir = None if args.in_memory else Path(args.data_dir).resolve()
            if data_dir is not None and args.reset and ddb.reset(data_dir):
                detail(f"wiped {data_dir / 'dynamodb'}")
            detail(f"Java {java}, {jar.parent.name}")

        # -------------------------------------------------- 2 DynamoDB Local
        dynamodb_endpoint = f"http://127.0.0.1:{ports['DynamoDB Local']}"
        where = "in memory" if data_dir is None else f"data in {_relative(data_dir / 'dynamodb')}"
        with progress.step(f"DynamoDB Local on :{ports['DynamoDB Local']} ({where})"):
            log_dir = Path(args.data_dir).resolve()
            log_dir.mkdir(parents=True, exist_ok=True)
            log_path = log_dir / f"dynamodb-local-{ports['DynamoDB Local']}.log"
            log_file = open(log_path, "wb")  # noqa: SIM115
            stack.push("log file", log_file.close)
            proc = ddb.start_dynamodb_local(
                ports["DynamoDB Local"], data_dir, jar=jar, log=log_file
            )
            state["dynamodb_proc"] = proc
            stack.push("DynamoDB Local", lambda: ddb.stop(proc))
            try:
                ddb.wait_ready(dynamodb_endpoint, args.dynamodb_timeout, proc)
            except (TwinSetupError, TimeoutError) as exc:
                log_file.flush()
                tail = log_path.read_text(errors="replace")[-2000:]
                raise TwinSetupError(f"{exc}\n--- DynamoDB Local's output ---\n{tail}") from exc

        # -------------------------------------------------- 3 moto
        from infra.local import aws_twin
        from infra.local import env as twin_env

        with progress.step(f"moto (Cognito, SES, SNS, SQS, Secrets Manager) on :{ports['moto']}"):
            moto = aws_twin.MotoTwin(ports["moto"]).start()
            stack.push("moto", moto.stop)

        # -------------------------------------------------- 4 tables
        with progress.step("tables from template.yaml") as detail:
            ddb_client = aws_twin.client("dynamodb", dynamodb_endpoint)
            existing = set(ddb_client.list_tables().get("TableNames", []))
            tables = template.create_tables(ddb_client, doc=doc)
            created = [n for n in tables.values() if n not in existing]
            detail(f"{len(created)} created, {len(tables) - len(created)} kept")

        # -------------------------------------------------- 5 identity & email
        with progress.step(
            "identity & email (user pool, groups, demo users, queues, topics, secrets, SES)"
        ):
            overrides = twin_env.parameter_overrides(ports["gateway"])
            provisioned = aws_twin.provision(doc, moto.endpoint, parameters=overrides)
            resolver = provisioned.resolver
            for logical_id, name in tables.items():
                resolver.refs.setdefault(logical_id, name)
            env = twin_env.resolve_environment(
                doc,
                resolver,
                dynamodb_endpoint=dynamodb_endpoint,
                moto_endpoint=moto.endpoint,
                user_pool_id=provisioned.user_pool_id,
            )
            per_function = twin_env.function_environments(doc, resolver)
            # The twin's own process runs the seed and (in-process) the functions.
            os.environ.update(env)
            _reset_convene_caches()
        for note in provisioned.notes:
            warn(note)

        # -------------------------------------------------- 6 seed
        if args.no_seed:
            progress.n += 1
            say(f"[{progress.n}/{progress.total}] seed ... skipped (--no-seed)")
        else:
            from infra.local import seed

            with progress.step("seed data (Community Space)") as detail:
                member = provisioned.user("member")
                report = seed.seed(
                    organiser=provisioned.user("organiser").username,
                    moderator=provisioned.user("moderator").username,
                    member={"sub": member.username, "email": member.email, "name": member.name},
                    site_url=env.get("SITE_URL", ""),
                )
                detail(report.summary())
            for note in report.notes:
                warn(f"seed: {note}")

        # -------------------------------------------------- 7 functions, gateway, pump, scheduler
        from infra.local.local_routes import LocalRoutes

        config: dict[str, Any] = {}
        routes = LocalRoutes(config=config, doc=doc, topics=dict(provisioned.topics))
        with progress.step(
            f"functions, gateway on :{ports['gateway']}, stream pump, scheduler"
        ) as detail:
            runtime, gateway, pump, scheduler = _start_functions(
                doc=doc,
                env=env,
                per_function=per_function,
                provisioned=provisioned,
                tables=tables,
                dynamodb_endpoint=dynamodb_endpoint,
                gateway_port=ports["gateway"],
                routes=routes,
                static_dir=_static_dir(args),
                parameters=overrides,
                stack=stack,
                pool_size=args.pool_size,
            )
            routes.runtime, routes.pump, routes.scheduler = runtime, pump, scheduler
            detail(f"{len(runtime.function_ids())} function(s)")

        config.update(
            _config(
                api_url=gateway.url,
                site_url=env.get("SITE_URL", gateway.url),
                dynamodb_endpoint=dynamodb_endpoint,
                data_dir=data_dir,
                provisioned=provisioned,
                tables=tables,
                env=env,
                functions=runtime.function_ids(),
                pids={"twin": os.getpid(), "dynamodb_local": proc.pid},
            )
        )
        _print_ready(config, time.monotonic() - started)

        # -------------------------------------------------- run until stopped
        while True:
            if proc.poll() is not None:
                raise TwinSetupError(
                    f"DynamoDB Local stopped unexpectedly (status {proc.returncode})"
                )
            time.sleep(0.5)
    except Stop as stop:
        say(f"\n{stop} received: stopping ...")
        stack.close()
        say("stopped.")
        return 0
    except KeyboardInterrupt:
        say("\nstopping ...")
        stack.close()
        say("stopped.")
        return 0
    except TwinSetupError as exc:
        stack.close()
        if _line["open"]:
            say()
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        stack.close()
        raise
    finally:
        stack.close()


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _reset_convene_caches() -> None:
    """convene caches its settings and clients per process: forget them after os.environ
    changed (the seed and the functions run in this process)."""
    from convene import aws as convene_aws
    from convene.settings import get_settings

    get_settings.cache_clear()
    convene_aws.reset()


def _start_functions(
    *,
    doc: dict[str, Any],
    env: dict[str, str],
    per_function: dict[str, dict[str, str]],
    provisioned: Any,
    tables: dict[str, str],
    dynamodb_endpoint: str,
    gateway_port: int,
    routes: Any,
    static_dir: Path | None,
    parameters: dict[str, str],
    stack: Stack,
    pool_size: int,
) -> tuple[Any, Any, Any, Any]:
    from infra.local import aws_twin, template
    from infra.local.gateway import AuthConfig, start_gateway
    from infra.local.runtime import Runtime

    runtime = Runtime(
        template.functions(doc),
        env,
        pool_size=pool_size,
        layer_dir=ROOT / "shared",
        per_function_env=per_function,
        region=provisioned.region,
    )

    pump = None
    try:
        from infra.local.pump import StreamPump
    except ImportError:
        warn("infra.local.pump is not there yet: no stream processing")
    else:
        pump = StreamPump(
            runtime,
            doc,
            streams_client=aws_twin.client("dynamodbstreams", dynamodb_endpoint),
            table_names=tables,
            sqs_client=aws_twin.client("sqs", provisioned.endpoint),
            queue_urls=dict(provisioned.queues),
            dynamodb_client=aws_twin.client("dynamodb", dynamodb_endpoint),
            region=provisioned.region,
        )
        pump.start()
        stack.push("stream pump", pump.stop)

    scheduler = None
    try:
        from infra.local.scheduler import Scheduler
    except ImportError:
        warn("infra.local.scheduler is not there yet: no scheduled invocations")
    else:
        scheduler = Scheduler(runtime, doc, region=provisioned.region)
        scheduler.start()
        stack.push("scheduler", scheduler.stop)

    try:
        gateway = start_gateway(
            runtime,
            doc,
            host="127.0.0.1",
            port=gateway_port,
            auth=AuthConfig(
                jwks_url=provisioned.jwks_url,
                issuer=provisioned.issuer,
                audience=provisioned.client_id,
            ),
            local_routes=routes,
            static_dir=static_dir,
            pages=_pages(static_dir),
            parameters=parameters,
            region=provisioned.region,
        )
    except OSError as exc:
        raise TwinSetupError(
            f"the gateway cannot listen on 127.0.0.1:{gateway_port}: {exc}"
        ) from exc
    stack.push("gateway", gateway.stop)
    return runtime, gateway, pump, scheduler


def _config(
    *,
    api_url: str,
    site_url: str,
    dynamodb_endpoint: str,
    data_dir: Path | None,
    provisioned: Any,
    tables: dict[str, str],
    env: dict[str, str],
    functions: list[str],
    pids: dict[str, int],
) -> dict[str, Any]:
    """What GET /_local/config answers: everything a script or test needs to find."""
    return {
        "stage": env.get("STAGE", "local"),
        "region": provisioned.region,
        "account_id": provisioned.account_id,
        "api_url": api_url,
        "site_url": site_url,
        "mail_url": f"{api_url}/_local/mail",
        "dynamodb_endpoint": dynamodb_endpoint,
        "dynamodb_data": str(data_dir / "dynamodb") if data_dir else "in-memory",
        "moto_endpoint": provisioned.endpoint,
        "user_pool_id": provisioned.user_pool_id,
        "client_id": provisioned.client_id,
        "issuer": provisioned.issuer,
        "jwks_url": provisioned.jwks_url,
        "tables": tables,
        "queues": dict(provisioned.queues),
        "topics": dict(provisioned.topics),
        "secrets": dict(provisioned.secrets),
        "functions": functions,
        "users": [u.as_dict() for u in provisioned.users],
        # The functions' environment: run convene's code against the twin from a script.
        "environment": env,
        "pids": pids,
    }


def _print_ready(config: dict[str, Any], elapsed: float) -> None:
    api = config["api_url"]
    say(f"\nready in {elapsed:.1f}s. Everything listens on 127.0.0.1 only.\n")
    rows = [
        ("API and pages", api),
        ("mail view", f"{api}/_local/mail"),
        ("config", f"{api}/_local/config"),
        ("DynamoDB Local", f"{config['dynamodb_endpoint']}  ({config['dynamodb_data']})"),
        ("moto", config["moto_endpoint"]),
        ("user pool", f"{config['user_pool_id']}  client {config['client_id']}"),
    ]
    for label, value in rows:
        say(f"  {label:<16}{value}")
    say("\n  demo users (development passwords, new at each start):")
    for user in config["users"]:
        groups = ",".join(user["groups"]) or "-"
        say(f"    {user['role']:<11} {user['email']:<36} {user['password']}  [{groups}]")
    port = urllib.parse.urlsplit(api).port
    url_flag = "" if port == 3000 else f" --url {api}"
    say(
        "\n  a token:   "
        f"TOKEN=$(.venv/bin/python -m infra.local token organiser{url_flag})\n"
        f'             curl -H "Authorization: Bearer $TOKEN" {api}/admin/events ...\n'
        "  a run:     .venv/bin/python -m infra.local invoke Reminders"
        f" --at 2021-07-21T11:00:00Z{url_flag}\n"
        "\nCtrl-C stops everything."
    )


# ---------------------------------------------------------------- talking to a running twin


def _get_json(url: str, method: str = "GET", timeout: float = 60.0) -> Any:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        raise TwinSetupError(f"{method} {url} answered {exc.code}: {body}") from exc
    except urllib.error.URLError as exc:
        raise TwinSetupError(
            f"no twin answers at {url} ({exc.reason}); start one with `python -m infra.local up`"
        ) from exc


def invoke(args: argparse.Namespace) -> int:
    url = f"{args.url.rstrip('/')}/_local/invoke/{urllib.parse.quote(args.function)}"
    if args.at:
        url += "?" + urllib.parse.urlencode({"at": args.at})
    result = _get_json(url, method="POST", timeout=args.timeout)
    print(json.dumps(result, indent=2))
    return 0


def token(args: argparse.Namespace) -> int:
    from infra.local import aws_twin

    config = _get_json(f"{args.url.rstrip('/')}/_local/config")
    users = {u["role"]: u for u in config["users"]}
    user = users.get(args.role) or next(
        (u for u in config["users"] if args.role in {u["email"], u["username"]}), None
    )
    if user is None:
        raise TwinSetupError(f"no demo user {args.role!r}; roles: {', '.join(users)}")
    print(
        aws_twin.id_token(
            config["moto_endpoint"],
            config["client_id"],
            user["email"],
            user["password"],
            region=config["region"],
        )
    )
    return 0


# ---------------------------------------------------------------- main


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    u = sub.add_parser("up", help="start the whole stack offline")
    u.add_argument("--reset", action="store_true", help="wipe <data-dir>/dynamodb first")
    u.add_argument(
        "--in-memory", action="store_true", help="keep no data (DynamoDB Local -inMemory)"
    )
    u.add_argument("--no-seed", action="store_true", help="do not create the demo data")
    u.add_argument("--template", default=str(ROOT / "template.yaml"))
    u.add_argument("--data-dir", default=".local")
    u.add_argument("--gateway-port", type=int, default=3000)
    u.add_argument("--dynamodb-port", type=int, default=8000)
    u.add_argument("--moto-port", type=int, default=5005)
    u.add_argument("--static-dir", default=None, help="web pages served by the gateway")
    u.add_argument("--pool-size", type=int, default=4, help="concurrent environments per function")
    u.add_argument("--dynamodb-timeout", type=float, default=90.0)
    u.add_argument("--quiet", action="store_true", help="log warnings only")
    u.set_defaults(run=up)

    default_url = os.environ.get("CONVENE_TWIN_URL", DEFAULT_URL)
    i = sub.add_parser("invoke", help="run a scheduled function of a running twin")
    i.add_argument("function", help="Reminders or RemindersFunction")
    i.add_argument("--at", help="the scheduled time, e.g. 2021-07-21T11:00:00Z (default: now)")
    i.add_argument("--url", default=default_url)
    i.add_argument("--timeout", type=float, default=120.0)
    i.set_defaults(run=invoke)

    t = sub.add_parser("token", help="print an ID token for a demo user of a running twin")
    t.add_argument("role", help="member, moderator, moderator2 or organiser")
    t.add_argument("--url", default=default_url)
    t.set_defaults(run=token)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except TwinSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
