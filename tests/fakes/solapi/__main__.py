"""``python -m tests.fakes.solapi``: run the fake SOLAPI server (``--help`` for options)."""

from __future__ import annotations

import argparse

from tests.fakes._server import add_server_arguments, serve_until_interrupted, server_options
from tests.fakes.solapi.server import FakeSolapi
from tests.fakes.solapi.state import DEFAULT_API_KEY, DEFAULT_API_SECRET, SEND_PATHS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.solapi", description="Run the fake SOLAPI server."
    )
    add_server_arguments(parser)
    parser.add_argument("--balance", type=float, default=100000.0)
    args = parser.parse_args(argv)
    fake = FakeSolapi(balance=args.balance, **server_options(args, SEND_PATHS))
    note = f"api key {DEFAULT_API_KEY} / secret {DEFAULT_API_SECRET}"
    return serve_until_interrupted(fake, lambda: [fake.base_url], note)


if __name__ == "__main__":
    raise SystemExit(main())
