"""A fake IWINV server (AlimTalk host + SMS v2 host) for tests and benchmarks
(``FakeIwinv``), on 127.0.0.1 only.

``python -m tests.fakes.iwinv --port 0`` runs it standalone. The modules: ``server`` (the
fake, its routing and answers), ``alimtalk`` and ``sms`` (the two hosts) and ``state``.
"""

from tests.fakes._server import ManualClock
from tests.fakes.iwinv.server import FakeIwinv
from tests.fakes.iwinv.state import (
    DEFAULT_API_KEY,
    DEFAULT_SMS_API_KEY,
    DEFAULT_SMS_AUTH_KEY,
    DEFAULT_SMS_COMPANY_ID,
    SEND_PATHS,
    alimtalk_auth,
    sms_secret,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SMS_API_KEY",
    "DEFAULT_SMS_AUTH_KEY",
    "DEFAULT_SMS_COMPANY_ID",
    "SEND_PATHS",
    "FakeIwinv",
    "ManualClock",
    "alimtalk_auth",
    "sms_secret",
]
