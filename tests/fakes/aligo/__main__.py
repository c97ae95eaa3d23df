"""``python -m tests.fakes.aligo``: run the fake Aligo server (``--help`` for options)."""

from __future__ import annotations

import argparse

from tests.fakes._server import add_server_arguments, serve_until_interrupted, server_options
from tests.fakes.aligo.server import FakeAligo
from tests.fakes.aligo.state import DEFAULT_POINT, DEFAULT_SENDER_KEY, SEND_PATHS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.aligo",
        description="Run the fake Aligo server (SMS and Kakao hosts under two prefixes).",
    )
    add_server_arguments(parser)
    parser.add_argument("--point", default=str(DEFAULT_POINT))
    args = parser.parse_args(argv)
    fake = FakeAligo(point=args.point, **server_options(args, SEND_PATHS))
    note = f"key {fake.key} / user_id {fake.user_id} / senderkey {DEFAULT_SENDER_KEY}"
    return serve_until_interrupted(fake, lambda: [fake.sms_base_url, fake.kakao_base_url], note)


if __name__ == "__main__":
    raise SystemExit(main())
