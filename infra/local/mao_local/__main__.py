"""``python -m mao_local`` (``make dev``): run the whole MAO stack locally on the embedded emulator."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading

from mao_local.stack import DEFAULT_TEMPLATE, LocalStack, StackConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mao-local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAO_PORT", "8000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MAO_MOTO_PORT", "0")))
    parser.add_argument("--host", default=os.environ.get("MAO_HOST", "127.0.0.1"))
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    parser.add_argument("--log-level", default=os.environ.get("MAO_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("botocore", "urllib3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from pathlib import Path

    stack = LocalStack(StackConfig(template=Path(args.template), api_port=args.port,
                                   moto_port=args.moto_port, host=args.host))
    stack.start()
    demo = stack.bootstrap_demo()
    base = f"{stack.api_url}/api/v1"
    print(f"""
MAO is running locally (embedded AWS emulator at {stack.moto_url})

  API            {base}
  health         curl {base}/health
  operator key   {stack.operator_key}
  demo tenant    {demo['tenant_id']}
  demo API key   {demo['api_key']}

Try:
  curl -H 'X-MAO-API-Key: {demo['api_key']}' {base}/tenants/{demo['tenant_id']}/api-keys

Data lives in memory and is gone when this process stops. Ctrl-C to stop.
""", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
