"""The twin, in front of a DynamoDB Local it does not own: for the fault tests.

    python -m tests.proof.fault_rig --dynamodb-endpoint http://127.0.0.1:PORT

`python -m infra.local up` starts DynamoDB Local itself and stops when it dies, which is
right for a developer and wrong for a test that stops DynamoDB Local on purpose. This rig
does what `up` does (moto, tables, identity, seed, functions, gateway, stream pump) with
the same code (`infra.local`), against an endpoint the test starts, stops and starts
again. It prints one line `READY <gateway url>` and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT / "shared"), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dynamodb-endpoint", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s", datefmt="%H:%M:%S")
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from infra.local import __main__ as up
    from infra.local import aws_twin, seed, template
    from infra.local import env as twin_env
    from infra.local.dynamodb import free_port
    from infra.local.local_routes import LocalRoutes

    stack = up.Stack()
    stopped = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        doc = template.load()
        gateway_port = free_port()
        moto = aws_twin.MotoTwin(free_port()).start()
        stack.push("moto", moto.stop)
        tables = template.create_tables(aws_twin.client("dynamodb", args.dynamodb_endpoint))
        overrides = twin_env.parameter_overrides(gateway_port)
        provisioned = aws_twin.provision(doc, moto.endpoint, parameters=overrides)
        resolver = provisioned.resolver
        for logical_id, name in tables.items():
            resolver.refs.setdefault(logical_id, name)
        env = twin_env.resolve_environment(
            doc, resolver, dynamodb_endpoint=args.dynamodb_endpoint,
            moto_endpoint=moto.endpoint, user_pool_id=provisioned.user_pool_id,
        )
        per_function = twin_env.function_environments(doc, resolver)
        os.environ.update(env)
        up._reset_convene_caches()
        seed.seed(organiser=provisioned.user("organiser").username,
                  site_url=env.get("SITE_URL", ""))
        config: dict[str, Any] = {}
        routes = LocalRoutes(config=config, doc=doc, topics=dict(provisioned.topics))
        runtime, gateway, pump, scheduler = up._start_functions(
            doc=doc, env=env, per_function=per_function, provisioned=provisioned,
            tables=tables, dynamodb_endpoint=args.dynamodb_endpoint,
            gateway_port=gateway_port, routes=routes, static_dir=None, parameters=overrides,
            stack=stack, pool_size=2,
        )
        routes.runtime, routes.pump, routes.scheduler = runtime, pump, scheduler
        config.update(up._config(
            api_url=gateway.url, site_url=env.get("SITE_URL", gateway.url),
            dynamodb_endpoint=args.dynamodb_endpoint, data_dir=None, provisioned=provisioned,
            tables=tables, env=env, functions=runtime.function_ids(),
            pids={"twin": os.getpid()},
        ))
        # The line the privacy check reads logs after (tests/proof/privacy.py BANNER_END).
        print("\nCtrl-C stops everything.", flush=True)
        print(f"READY {gateway.url}", flush=True)
        stopped.wait()
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
