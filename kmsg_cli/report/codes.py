"""What a failure code means, per provider type, in English and Korean (for `kmsg report`).

The vendors' codes are summarised from the tables in docs/vendors/ (solapi.md "Status codes",
iwinv.md "SMS result codes", "SMS history" and "AlimTalk result codes", aligo.md); a SOLAPI
code those tables do not list alone gets the meaning of its class (1xxx, 2xxx, 3xxx). The mock
provider's codes come from its module docstring; kmsg's own codes from docs/report.md. Pure
data: the report reads it without importing any provider client. A code missing here is shown
as it is.
"""

from __future__ import annotations

Meaning = tuple[str, str]
"""(English, Korean)."""

_SOLAPI: dict[str, Meaning] = {
    "1010": ("a required value is missing", "필수 값 누락"),
    "1011": ("a value has the wrong format", "값 형식 오류"),
    "1013": ("subject error", "제목 오류"),
    "1014": ("subject error", "제목 오류"),
    "1020": ("account problem", "계정 오류"),
    "1021": ("no such message", "메시지 없음"),
    "1022": ("no such group", "그룹 없음"),
    "1023": ("no such image", "이미지 없음"),
    "1024": ("SOLAPI server error", "서버 오류"),
    "1025": ("unsupported message type", "지원하지 않는 메시지 유형"),
    "1026": ("duplicate recipient in one request", "중복 수신번호"),
    "1030": ("insufficient balance", "잔액 부족"),
    "1031": ("text too long", "내용 길이 초과"),
    "1032": ("invalid custom field", "customFields 값 오류"),
    "1033": ("Kakao options on a non-Kakao type", "카카오 옵션 사용 불가 유형"),
    "1034": ("image id missing", "이미지 ID 누락"),
    "1041": ("Kakao channel, template or button error", "카카오 채널·템플릿·버튼 오류"),
    "1042": ("unknown AlimTalk template", "알림톡 템플릿 없음"),
    "1043": ("text differs from the template", "템플릿과 내용 불일치"),
    "1058": ("no route for this message", "발송 경로 없음"),
    "1060": ("recipient blocked", "수신 차단"),
    "1061": ("recipient opted out (080)", "080 수신 거부"),
    "1062": ("sender number not registered", "발신번호 미등록"),
    "1064": ("blocked by KISA", "KISA 차단"),
    "2011": ("platform: format error", "플랫폼 형식 오류"),
    "2024": ("platform: server error", "플랫폼 서버 오류"),
    "2060": ("platform: recipient blocked", "플랫폼 수신 차단"),
    "2061": ("platform: recipient opted out", "플랫폼 수신 거부"),
    "2062": ("platform: sender number not registered", "플랫폼 발신번호 미등록"),
    "2063": ("platform: account blocked", "계정 차단"),
    "2064": ("platform: blocked by KISA", "플랫폼 KISA 차단"),
    "2230": ("platform: insufficient balance", "플랫폼 잔액 부족"),
    "2254": ("platform: judged as spam", "스팸 처리"),
    "3101": ("Kakao: invalid sender key", "카카오: 발신 프로필 키 오류"),
    "3102": ("Kakao: not a channel friend", "카카오: 채널 친구 아님"),
    "3103": ("Kakao: message does not match the template", "카카오: 템플릿 불일치"),
    "3104": ("Kakao: not a KakaoTalk user", "카카오톡 미사용자"),
    "3105": ("Kakao: template not registered", "카카오: 템플릿 미등록"),
    "3106": ("Kakao: invalid channel", "카카오: 채널 오류"),
    "3107": (
        "Kakao: not a KakaoTalk user within 72 h, or AlimTalk blocked",
        "카카오: 72시간 내 미사용자 또는 알림톡 차단",
    ),
    "3108": ("Kakao: outside the sending hours (08:00-20:00)", "카카오: 발송 가능 시간 외"),
}

_IWINV: dict[str, Meaning] = {
    "1": ("not sent", "발송 실패"),
    "11": ("service not running", "서비스 미사용"),
    "12": ("recharging, try later", "충전 중"),
    "13": ("sender number not registered", "발신번호 미등록"),
    "14": ("bad authentication request", "인증 요청 오류"),
    "15": ("IP address not registered", "미등록 IP"),
    "21": ("LMS text over 2,000 bytes", "LMS 2,000바이트 초과"),
    "22": ("forbidden characters in the title", "제목 허용 외 문자"),
    "23": ("title over 40 bytes", "제목 40바이트 초과"),
    "31": ("image over 100 KB", "이미지 100KB 초과"),
    "32": ("image type not allowed", "허용되지 않는 이미지 형식"),
    "33": ("image upload failed", "이미지 업로드 실패"),
    "41": ("no recipient", "수신번호 없음"),
    "42": ("reservation time not allowed", "예약 시간 오류"),
    "43": ("bad date format", "날짜 형식 오류"),
    "44": ("more than 1,000 recipients", "수신자 1,000명 초과"),
    "50": ("daily auto-recharge limit reached", "일일 자동 충전 한도 초과"),
    "202": ("SMS authentication failed", "SMS 인증 실패"),
    "206": ("IP address not registered", "미등록 IP"),
    "501": ("bad template code", "템플릿 코드 오류"),
    "505": ("sender number not registered", "발신번호 미등록"),
    "508": ("template variables required", "템플릿 변수 누락"),
    "509": ("text does not match the template", "템플릿 내용 불일치"),
    "513": ("bad phone number format", "전화번호 형식 오류"),
    "519": ("insufficient balance", "잔액 부족"),
    "540": ("blocked keyword", "금지어 포함"),
    "07": ("no subscriber or dead number", "결번 또는 가입자 없음"),
    "08": ("handset switched off", "단말기 전원 꺼짐"),
    "09": ("out of coverage", "음영 지역"),
    "10": ("message storage full", "메시지 저장 공간 부족"),
}

_ALIGO: dict[str, Meaning] = {
    "-99": ("request refused (authentication)", "요청 거부 (인증 오류)"),
    "-101": ("authentication failed", "인증 오류"),
    "-102": ("unknown user id", "사용자 ID 오류"),
    "-201": ("insufficient balance", "잔액 부족"),
}

_MOCK: dict[str, Meaning] = {
    "MOCK_REJECTED": ("rejected by the mock's rule (number ends in 0000)", "모의 발송 거부"),
    "MOCK_UNAVAILABLE": ("mock outage (number ends in 0503)", "모의 장애"),
    "3104": ("not a KakaoTalk user (simulated)", "카카오톡 미사용자 (모의)"),
    "3043": ("handset switched off (simulated)", "단말기 전원 꺼짐 (모의)"),
}

# kmsg's own codes, whatever the provider.
_KMSG: dict[str, Meaning] = {
    "UNKNOWN_OUTCOME": (
        "the answer was lost: maybe sent, never re-sent automatically",
        "결과 불명: 발송 여부를 알 수 없음",
    ),
    "TRACKING_TIMEOUT": ("no final status within the tracking window", "추적 기간 내 결과 없음"),
    "SEND_FAILED": ("not accepted", "접수 실패"),
    "PROVIDER_REJECTED": ("refused by the provider", "업체가 거부"),
    "INVALID_REQUEST": ("the provider refused the request as invalid", "잘못된 요청"),
    "SENDER_NOT_REGISTERED": ("sender number not registered", "발신번호 미등록"),
    "INSUFFICIENT_BALANCE": ("insufficient balance", "잔액 부족"),
    "BLOCKED_RECIPIENT": ("recipient blocked or opted out", "수신 차단"),
    "INVALID_CREDENTIALS": ("authentication failed", "인증 실패"),
    "RATE_LIMITED": ("too many requests", "요청 한도 초과"),
    "SERVICE_UNAVAILABLE": ("provider temporarily unavailable", "일시적 서비스 불가"),
    "PROVIDER_ERROR": ("provider error", "업체 오류"),
    "NETWORK_ERROR": ("network failure", "네트워크 오류"),
    "NETWORK_TIMEOUT": ("the provider did not answer in time", "응답 시간 초과"),
    "TEMPLATE_NOT_FOUND": ("unknown AlimTalk template", "알림톡 템플릿 없음"),
    "TEMPLATE_MISMATCH": ("text differs from the template", "템플릿과 내용 불일치"),
}

# SOLAPI codes by their first digit, for a code the table above does not list.
_SOLAPI_CLASSES: dict[str, Meaning] = {
    "1": ("refused at registration", "접수 단계 거부"),
    "2": ("platform error", "플랫폼 오류"),
    "3": ("carrier-side failure", "이통사 측 실패"),
}

_BY_TYPE: dict[str, dict[str, Meaning]] = {
    "solapi": _SOLAPI,
    "iwinv": _IWINV,
    "aligo": _ALIGO,
    "mock": _MOCK,
}


def meaning(provider_type: str | None, code: str | None) -> Meaning | None:
    """(English, Korean) meaning of `code` from a provider of `provider_type`, or None."""
    if not code:
        return None
    table = _BY_TYPE.get(provider_type or "", {})
    found = table.get(code) or _KMSG.get(code)
    if found is None and provider_type == "solapi" and len(code) == 4 and code.isdigit():
        found = _SOLAPI_CLASSES.get(code[0])
    return found
