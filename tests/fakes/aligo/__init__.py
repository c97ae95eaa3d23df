"""A fake Aligo server (SMS host + Kakao host) for tests and benchmarks (``FakeAligo``), on
127.0.0.1 only.

``python -m tests.fakes.aligo --port 0`` runs it standalone. The modules: ``server`` (the
fake, its routing and answers), ``sms`` and ``kakao`` (the two hosts) and ``state``.
"""

from tests.fakes._common import cp949_len
from tests.fakes._server import ManualClock
from tests.fakes.aligo.server import FakeAligo
from tests.fakes.aligo.state import (
    DEFAULT_KEY,
    DEFAULT_SENDER_KEY,
    DEFAULT_USER_ID,
    SEND_PATHS,
    match_template,
)

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_SENDER_KEY",
    "DEFAULT_USER_ID",
    "SEND_PATHS",
    "FakeAligo",
    "ManualClock",
    "cp949_len",
    "match_template",
]
