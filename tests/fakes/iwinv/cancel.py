"""Cancelling a reserved AlimTalk request on the fake IWINV (docs/vendors/iwinv.md,
IWINV-AT-CANCEL).

- ``POST {alimtalk}/api/cancel/`` with ``{seqNo}`` cancels every recipient of one accepted,
  reserved request whose time has not come: ``{code: 200, message}``. Each one is refunded and
  shows in the history with statusCode "CANCEL", statusCodeName "예약 취소" (the fake's words:
  IWINV's are not documented); its SMS re-send plan is dropped.
- ``seqNo`` missing or not a number → 502 (the documented "bad request" code). Any other
  refusal — no such request, not reserved, its time has passed, already cancelled — → code
  400 "취소할 수 없는 예약입니다." IWINV's own refusal codes and any cut-off before the
  reserved time are **unverified**: the fake allows a cancel until the reserved time.
- No SMS cancel exists on the SMS host (IWINV-SMS-CANCEL): ``/api/cancel/`` there is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.iwinv.state import PRICES, AlimTalkRecord, Fail, int_param

CANCEL_PATH = "/api/cancel/"
CANCELLED = ("CANCEL", "예약 취소")
REFUSED = 400
REFUSED_MESSAGE = "취소할 수 없는 예약입니다."


class Cancelling:
    """The AlimTalk cancel endpoint (mixed into ``FakeIwinv``)."""

    balance: float
    clock: Callable[[], float]
    _alimtalk: list[AlimTalkRecord]

    def _alimtalk_cancel(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        raw = body.get("seqNo")
        seq_no = int_param(raw, 0) if raw is not None and raw != "" else None
        if seq_no is None:
            raise Fail(502, "seqNo must be a number")
        found = [m for m in self._alimtalk if m.seq_no == seq_no and m.accepted]
        if not found:
            raise Fail(REFUSED, f"no accepted request {seq_no}")
        if not found[0].reserve:
            raise Fail(REFUSED, f"request {seq_no} is not reserved")
        if any(m.outcome == CANCELLED for m in found):
            raise Fail(REFUSED, f"request {seq_no} is already cancelled")
        if now >= found[0].start:
            raise Fail(REFUSED, f"request {seq_no} has been sent")
        for message in found:
            message.outcome = CANCELLED
            message.final_at = now
            message.resend_plan = None
        self.balance += PRICES["ALIMTALK"] * len(found)
        return {"code": 200, "message": "예약이 취소되었습니다."}
