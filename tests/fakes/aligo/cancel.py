"""Cancelling a reserved send on the fake Aligo (docs/vendors/aligo.md: ALIGO-SMS-CANCEL,
ALIGO-SMS-CANCEL-CODES, ALIGO-KAKAO-CANCEL, ALIGO-CANCEL-CUTOFF).

- ``POST /cancel/`` (SMS host) and ``POST /akv10/cancel/`` (Kakao host) take the ``mid`` of
  one accepted request and cancel every receiver of it together, if the request is reserved
  and its time is more than 5 minutes away (``CUTOFF_SECONDS``, Aligo's samples).
- SMS host answers (documented codes): ``{result_code: 1, message: "success", cancel_date}``;
  -801 no ``mid``; -802 a ``mid`` that is not a number or names no SMS request; -803 nothing
  reserved under it (never reserved, or already cancelled); -804 inside the 5-minute cut-off;
  -805 the reserved time has passed (sent).
- Kakao host answers: ``{code: 0, message, data: {cnt}}`` (``cnt`` = receivers cancelled, as
  aligo-client's types say). Its refusal codes are **unverified**: the fake answers the SMS
  host's codes for the same cases.
- A cancelled delivery never progresses: the SMS history shows ``sms_state`` "예약취소", the
  Kakao history ``status`` "취소"; ``accepted_messages()`` entries carry ``cancelled_at``.
  Whether Aligo refunds the points is not documented; the fake leaves them as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes._common import kst_text
from tests.fakes.aligo.state import AligoError, Delivery, Form

CUTOFF_SECONDS = 300
SMS_CANCEL_PATH = "/cancel/"
KAKAO_CANCEL_PATH = "/akv10/cancel/"
CANCELLED_AT = "cancelled_at"


def cancelled(delivery: Delivery) -> bool:
    return delivery.extra.get(CANCELLED_AT) is not None


class Cancelling:
    """The two cancel endpoints (mixed into ``FakeAligo``)."""

    _by_request: dict[str, list[Delivery]]
    _rc: Callable[..., int | str]

    def _sms_cancel(self, form: Form, now: float) -> dict[str, Any]:
        mid = form.text("mid").strip()
        if not mid:
            raise AligoError(-801, "mid is required")
        found = [d for d in self._by_request.get(mid, []) if d.channel == "sms"]
        if not mid.isdigit() or not found:
            raise AligoError(-802, f"no request {mid}")
        self._cancel_deliveries(found, now)
        return {"result_code": self._rc(1), "message": "success", "cancel_date": kst_text(now)}

    def _kakao_cancel(self, form: Form, now: float) -> dict[str, Any]:
        mid = form.text("mid").strip()
        if not mid:
            raise AligoError(-801, "mid is required")
        found = [d for d in self._by_request.get(mid, []) if d.channel != "sms"]
        if not found:
            raise AligoError(-802, f"no Kakao request {mid}")
        self._cancel_deliveries(found, now)
        return {"code": 0, "message": "정상적으로 취소되었습니다.", "data": {"cnt": len(found)}}

    def _cancel_deliveries(self, found: list[Delivery], now: float) -> None:
        """Cancel a request's deliveries, or raise the host's code for why it cannot be."""
        scheduled = found[0].scheduled
        if scheduled is None or any(cancelled(d) for d in found):
            raise AligoError(-803, "nothing is reserved under this mid")
        if now >= scheduled:
            raise AligoError(-805, "already sent")
        if scheduled - now < CUTOFF_SECONDS:
            raise AligoError(-804, "a reservation is cancelled at least 5 minutes ahead")
        for delivery in found:
            delivery.extra[CANCELLED_AT] = now
