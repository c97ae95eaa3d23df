"""A fake SOLAPI REST server for tests and benchmarks (``FakeSolapi``), on 127.0.0.1 only.

``python -m tests.fakes.solapi --port 0`` runs it standalone. The modules: ``server`` (the
fake and its routing), ``auth``, ``messages``, ``status``, ``storage`` and ``state``.
"""

from tests.fakes._common import cp949_len
from tests.fakes._server import ManualClock
from tests.fakes.solapi.auth import check_signature, compute_signature
from tests.fakes.solapi.server import FakeSolapi
from tests.fakes.solapi.state import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PF_ID,
    SEND_PATHS,
    ApiError,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_PF_ID",
    "SEND_PATHS",
    "ApiError",
    "FakeSolapi",
    "ManualClock",
    "check_signature",
    "compute_signature",
    "cp949_len",
]
