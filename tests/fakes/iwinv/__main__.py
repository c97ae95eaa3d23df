"""``python -m tests.fakes.iwinv``: run the fake IWINV server (``--help`` for options)."""

from __future__ import annotations

import argparse

from tests.fakes._server import add_server_arguments, serve_until_interrupted, server_options
from tests.fakes.iwinv import state
from tests.fakes.iwinv.server import FakeIwinv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.iwinv", description="Run the fake IWINV server."
    )
    add_server_arguments(parser)
    parser.add_argument("--api-key", default=state.DEFAULT_API_KEY)
    parser.add_argument("--sms-api-key", default=state.DEFAULT_SMS_API_KEY)
    parser.add_argument("--sms-auth-key", default=state.DEFAULT_SMS_AUTH_KEY)
    parser.add_argument("--sms-company-id", default=state.DEFAULT_SMS_COMPANY_ID)
    parser.add_argument(
        "--allow-ip",
        action="append",
        default=None,
        help="allowed client IP (repeatable; default 127.0.0.1); 'any' disables the check",
    )
    parser.add_argument("--bare-number", action="store_true", help="errors as a bare number")
    parser.add_argument("--balance", type=float, default=100000.0)
    parser.add_argument("--progress-after", type=float, default=2.0)
    args = parser.parse_args(argv)
    allowed: list[str] | None = args.allow_ip or ["127.0.0.1"]
    if allowed is not None and "any" in allowed:
        allowed = None
    fake = FakeIwinv(
        api_key=args.api_key,
        sms_api_key=args.sms_api_key,
        sms_auth_key=args.sms_auth_key,
        sms_company_id=args.sms_company_id,
        allowed_ips=allowed,
        bare_number=args.bare_number,
        balance=args.balance,
        progress_after=args.progress_after,
        **server_options(args, state.SEND_PATHS),
    )
    note = (
        f"AUTH: {state.alimtalk_auth(fake.api_key)}; "
        f"secret: {state.sms_secret(args.sms_api_key, args.sms_auth_key)}; "
        f"companyid: {args.sms_company_id}"
    )
    return serve_until_interrupted(fake, lambda: [fake.alimtalk_base_url, fake.sms_base_url], note)


if __name__ == "__main__":
    raise SystemExit(main())
