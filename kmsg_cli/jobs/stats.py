"""What one run of the job ledger's worker did (`Stats`), and why it stopped early when a
provider refused the account rather than a message (`Halt`, docs/recovery.md, "Account
refusals").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from kmsg_cli.errors import EXIT_INPUT, EXIT_PROVIDER, AuthenticationError, KmsgError

AGAIN = "what was not sent goes out then, nothing twice"
_FIX = {
    "AUTHENTICATION_FAILED": "fix the provider's credentials (`kmsg providers doctor` checks them)",
    "INSUFFICIENT_BALANCE": "top up the account",
}


@dataclass
class Stats:
    """What this run did (thread-safe counters)."""

    accepted: int = 0
    failed: int = 0
    unknown: int = 0  # failed as UNKNOWN_OUTCOME, or still waiting for a lookup when the run ends
    deferred: int = 0  # unknown outcomes put off for another lookup (some resolved later)
    retried: int = 0
    reconciled: int = 0
    released: int = 0
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Halt(NamedTuple):
    """The account refusal that stopped a run: the first one seen."""

    provider_id: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    @property
    def exit_code(self) -> int:
        """The exit status of a run it stopped before anything was accepted: 2 for refused
        credentials (as `kmsg send` exits: the config is to be fixed), 3 otherwise (README.md,
        "Exit codes"); a run that had accepted something exits 5 all the same."""
        return EXIT_INPUT if self.code == AuthenticationError.default_code else EXIT_PROVIDER

    def error(self, left: str, then: str) -> KmsgError:
        """The run's error: `left` says what it left undone ("12 rows not sent yet"), `then`
        what to do once the cause is fixed ("run the same command: ...")."""
        return KmsgError(
            f"{self.provider_id} refused the account: {self.message}; stopped with {left}",
            code=self.code,
            hint=f"{_FIX.get(self.code, 'fix the cause')}, then {then}",
        )
