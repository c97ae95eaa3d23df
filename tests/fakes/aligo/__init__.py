"""A fake Aligo server (SMS host + Kakao host) for tests and benchmarks (``FakeAligo``), on
127.0.0.1 only.

``python -m tests.fakes.aligo --port 0`` runs it standalone. The modules: ``server`` (the
fake, its routing and answers), ``sms`` and ``kakao`` (the two hosts) and ``state``.
"""

from tests.fakes._common import cp949_len
from tests.fakes._server import DEFAULT_RANDOM_FAULTS, FAULT_KINDS, ManualClock
from tests.fakes.aligo.server import FakeAligo, main
from tests.fakes.aligo.state import (
    DEFAULT_KEY,
    DEFAULT_POINT,
    DEFAULT_PRICES,
    DEFAULT_SENDER_KEY,
    DEFAULT_SENDERS,
    DEFAULT_TEMPLATES,
    DEFAULT_USER_ID,
    KAKAO_PATHS,
    SEND_PATHS,
    SMS_PATHS,
    match_template,
    normalize_number,
    template_pattern,
)

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_POINT",
    "DEFAULT_PRICES",
    "DEFAULT_RANDOM_FAULTS",
    "DEFAULT_SENDERS",
    "DEFAULT_SENDER_KEY",
    "DEFAULT_TEMPLATES",
    "DEFAULT_USER_ID",
    "FAULT_KINDS",
    "KAKAO_PATHS",
    "SEND_PATHS",
    "SMS_PATHS",
    "FakeAligo",
    "ManualClock",
    "cp949_len",
    "main",
    "match_template",
    "normalize_number",
    "template_pattern",
]
