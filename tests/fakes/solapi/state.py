"""The fake SOLAPI's shared state and vocabulary: defaults, prices, status texts, the
error answer, stored messages and groups, and ISO dates as SOLAPI writes them."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_API_KEY = "TESTKEY0000000000"
DEFAULT_API_SECRET = "TESTSECRET00000000000000000000000"
DEFAULT_CREDENTIALS: Mapping[str, str] = {DEFAULT_API_KEY: DEFAULT_API_SECRET}
DEFAULT_SENDERS = frozenset({"0212345678", "01000000000"})
DEFAULT_PF_ID = "KA01PF0000000000000000000000"
DEFAULT_TEMPLATES: Mapping[str, str] = {
    "TPL_WELCOME": "#{name}님 가입을 환영합니다. 인증번호는 #{code}입니다.",
}
DEFAULT_ACCOUNT_ID = "24010100000001"
_BMS = ("BMS_FREE", "BMS_TEXT", "BMS_IMAGE", "BMS_WIDE", "BMS_WIDE_ITEM_LIST", "BMS_COMMERCE")
PRICES: Mapping[str, int] = {
    "SMS": 18,
    "LMS": 45,
    "MMS": 110,
    "ATA": 13,
    "CTA": 20,
    "CTI": 30,
    # RCS, Brand Message, voice, fax and Naver: the fake's own prices (see ``channels``)
    **dict.fromkeys(("RCS_SMS", "RCS_TPL"), 9),
    **dict.fromkeys(("RCS_LMS", "RCS_LTPL"), 30),
    **dict.fromkeys(("RCS_MMS", "RCS_ITPL"), 85),
    **dict.fromkeys((*_BMS, "BMS_CAROUSEL_FEED", "BMS_PREMIUM_VIDEO", "BMS_CAROUSEL_COMMERCE"), 20),
    "VOICE": 60,
    "FAX": 100,
    "NSA": 15,
}
KAKAO_TYPES = frozenset({"ATA", "CTA", "CTI"})
SEND_PATHS = ("/messages/v4/send", "/messages/v4/send-many/detail")
SKEW_SECONDS = 15 * 60

STATUS_MESSAGES: Mapping[str, str] = {
    "2000": "정상 접수(이통사로 접수 예정)",
    "3000": "이통사로 접수 완료(리포트 대기중)",
    "4000": "수신완료",
    "1010": "필수 입력값이 누락되었습니다",
    "1011": "입력값의 형식이 올바르지 않습니다",
    "1013": "SMS는 제목을 입력할 수 없습니다",
    "1014": "제목은 40바이트를 넘을 수 없습니다",
    "1023": "이미지를 찾을 수 없습니다",
    "1025": "메시지 타입이 올바르지 않습니다",
    "1026": "중복된 수신번호입니다",
    "1030": "잔액이 부족합니다",
    "1031": "메시지 길이 제한을 초과했습니다",
    "1032": "customFields 형식이 올바르지 않습니다",
    "1033": "kakaoOptions는 알림톡/친구톡에만 사용할 수 있습니다",
    "1034": "이미지(imageId)가 누락되었습니다",
    "1041": "유효하지 않은 카카오 채널(pfId)입니다",
    "1042": "유효하지 않은 템플릿 ID입니다",
    "1043": "템플릿 내용과 일치하지 않습니다",
    "1060": "수신 차단된 번호입니다",
    "1062": "등록되지 않은 발신번호입니다",
    "3010": "수신번호 형식 오류",
    "3040": "전송 시간 초과",
    "3041": "단말기 busy",
    "3042": "음영 지역",
    "3043": "단말기 전원 꺼짐",
    "3044": "단말기 메시지 저장 공간 부족",
    "3045": "일시 정지 단말기",
    "3047": "수신 거부",
    "3104": "카카오톡 미사용자",
    "3107": "72시간 이내 카카오톡 미사용자 또는 알림톡 차단",
    "CANCELED": "예약 발송 취소",
}


def parse_iso(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 string with an offset; None if unparseable or naive."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.timestamp()


@functools.lru_cache(maxsize=65_536)  # a listing writes the same few moments many times
def iso(ts: float | None) -> str | None:
    """UTC ISO 8601 with milliseconds and 'Z', as SOLAPI writes dates."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def normalize_number(value: str) -> str:
    return value.replace("-", "")


class ApiError(Exception):
    """An error answer: HTTP status + ``{errorCode, errorMessage, **extra}``."""

    def __init__(
        self, status: int, code: str, message: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def payload(self) -> dict[str, Any]:
        return {"errorCode": self.code, "errorMessage": self.message, **self.extra}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "ValidationError", message)


class Reject(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass
class Stored:
    base: dict[str, Any]
    accepted: bool
    created: float
    start: float
    t_processed: float
    t_final: float
    final_code: str
    failover_type: str | None
    price: int
    group_id: str
    canceled_at: float | None = None
    test: bool = False  # a test-mode message: TEST1000 for good


@dataclass
class Group:
    group_id: str
    created: float
    scheduled: float | None
    allow_duplicates: bool
    app_id: str | None
    message_ids: list[str] = field(default_factory=list)
    canceled_at: float | None = None
    refunded: float = 0.0
