"""Is a CP949 decode Korean text, or another encoding read wrongly (kmsg_cli.cp949)?"""

from __future__ import annotations

import pytest

from kmsg_cli.cp949 import judge, plausible_korean


@pytest.mark.parametrize(
    "text",
    [
        "안녕하세요 고객님, 주문하신 상품이 발송되었습니다.",
        "홍길동,김철수,이영희,박민수",
        "[공지] 서버 점검 안내 ※ 23:00~24:00",
        "똠방각하 만세 대한민국 국민 여러분",  # one rare syllable among common ones
        "株式會社 한국전자 대표이사 홍길동 귀하",  # a little Hanja is Korean too
        "abc 가",  # too few characters to judge
    ],
)
def test_korean_text_is_plausible(text: str) -> None:
    assert plausible_korean(text.encode("cp949").decode("cp949"))


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("こんにちは、明日の会議は午後三時からです。", "shift_jis"),
        ("田中太郎,山田花子,佐藤一郎", "shift_jis"),
        ("你好，明天的会议在下午三点开始。请准时参加。", "gbk"),
    ],
)
def test_other_encodings_read_as_cp949_are_not(text: str, encoding: str) -> None:
    decoded = text.encode(encoding).decode("cp949", "replace")
    verdict = judge(decoded)
    assert verdict.characters >= 4
    assert not verdict.plausible
