"""A fake SOLAPI REST server for tests and benchmarks (``FakeSolapi``), on 127.0.0.1 only.

``python -m tests.fakes.solapi --port 0`` runs it standalone. The modules: ``server`` (the
fake and its routing), ``auth``, ``messages``, ``status``, ``storage`` and ``state``.
"""

from tests.fakes._common import cp949_len
from tests.fakes._server import DEFAULT_RANDOM_FAULTS, FAULT_KINDS, ManualClock
from tests.fakes.solapi.auth import check_signature, compute_signature, parse_authorization
from tests.fakes.solapi.server import FakeSolapi, main
from tests.fakes.solapi.state import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_CREDENTIALS,
    DEFAULT_PF_ID,
    DEFAULT_SENDERS,
    DEFAULT_TEMPLATES,
    KAKAO_TYPES,
    PRICES,
    SEND_PATHS,
    STATUS_MESSAGES,
    ApiError,
    iso,
    normalize_number,
    parse_iso,
)
from tests.fakes.solapi.storage import FILE_LIMITS

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_CREDENTIALS",
    "DEFAULT_PF_ID",
    "DEFAULT_RANDOM_FAULTS",
    "DEFAULT_SENDERS",
    "DEFAULT_TEMPLATES",
    "FAULT_KINDS",
    "FILE_LIMITS",
    "KAKAO_TYPES",
    "PRICES",
    "SEND_PATHS",
    "STATUS_MESSAGES",
    "ApiError",
    "FakeSolapi",
    "ManualClock",
    "check_signature",
    "compute_signature",
    "cp949_len",
    "iso",
    "main",
    "normalize_number",
    "parse_authorization",
    "parse_iso",
]
