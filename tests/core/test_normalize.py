"""The message rules of docs/messages.md: phones, bytes, variables, type decision and limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmsg_cli.errors import InvalidInput
from kmsg_cli.models import Message, MessageDraft, MessageType, Recipient
from kmsg_cli.normalize import (
    build_message,
    count_bytes,
    interpolate,
    is_mobile,
    normalize_phone,
    normalize_sender,
    parse_type,
    parse_variables,
    placeholders,
    validate_message_id,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MOBILE = "010-1234-5678"


def assert_invalid(err: InvalidInput, code: str, field: str, value: str) -> None:
    """The error has the code and field, names the value, and is one line."""
    assert err.code == code, str(err)
    assert err.field == field, str(err)
    text = str(err)
    assert value.strip().replace("\n", "\\n")[:70] in text
    assert "\n" not in text
    assert "\n" not in err.message


def build(auto_lms_bytes: int = 90, **fields: Any) -> Message:
    fields.setdefault("to", MOBILE)
    draft = MessageDraft(**fields)
    return build_message(draft, default_id="m-1", auto_lms_bytes=auto_lms_bytes, now=NOW)


def build_error(**fields: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        build(**fields)
    return info.value


def codes(message: Message) -> list[str]:
    return [notice.code for notice in message.warnings]


# --- phone numbers ---------------------------------------------------------------------------

PHONES_OK = [
    ("dashes", "010-1234-5678", "01012345678", "82"),
    ("spaces", "010 1234 5678", "01012345678", "82"),
    ("dots-parens", "(010) 1234.5678", "01012345678", "82"),
    ("digits", "01012345678", "01012345678", "82"),
    ("tabs", "\t010-1234-5678\t", "01012345678", "82"),
    ("old-mobile-7", "011-123-4567", "0111234567", "82"),
    ("plus82-no-zero", "+82 10-1234-5678", "01012345678", "82"),
    ("plus82-with-zero", "+82 010-1234-5678", "01012345678", "82"),
    ("plus82-compact", "+821012345678", "01012345678", "82"),
    ("0082-prefix", "0082 10 1234 5678", "01012345678", "82"),
    ("full-width", "０１０－１２３４－５６７８", "01012345678", "82"),
    ("seoul-landline", "02-123-4567", "021234567", "82"),
    ("seoul-8", "02-1234-5678", "0212345678", "82"),
    ("area-code", "031-123-4567", "0311234567", "82"),
    ("internet-phone", "070-1234-5678", "07012345678", "82"),
    ("personal-050x", "0505-123-4567", "05051234567", "82"),
    ("representative", "1588-1234", "15881234", "82"),
    ("us", "+1 (202) 555-0123", "2025550123", "1"),
    ("uk", "+44 20 7946 0958", "2079460958", "44"),
    ("00-prefix-us", "001 202 555 0123", "2025550123", "1"),
    ("hong-kong-3-digit", "+852 2123 4567", "21234567", "852"),
    ("china", "+86 138 0013 8000", "13800138000", "86"),
]


@pytest.mark.parametrize(
    ("raw", "number", "country"),
    [case[1:] for case in PHONES_OK],
    ids=[case[0] for case in PHONES_OK],
)
def test_normalize_phone_accepts(raw: str, number: str, country: str) -> None:
    assert normalize_phone(raw) == Recipient(number=number, country=country)


PHONES_BAD = [
    ("too-short", "12345"),
    ("empty", ""),
    ("blank", "   "),
    ("mobile-9-digits", "010-123-456"),
    ("mobile-12-digits", "010-1234-56789"),
    ("letters", "abc"),
    ("letters-inside", "010-abcd-5678"),
    ("bad-mobile-prefix", "012-1234-5678"),
    ("unknown-country", "+999 1234 5678"),
    ("international-too-short", "+1 234"),
    ("international-too-long", "+1 202 555 0123 4567 89"),
    ("plus82-not-korean", "+82 1234"),
    ("plus-only", "+"),
    ("plus-letters", "+1 800 FLOWERS"),
    ("representative-too-long", "1588-12345"),
]


@pytest.mark.parametrize("raw", [case[1] for case in PHONES_BAD], ids=[c[0] for c in PHONES_BAD])
def test_normalize_phone_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw)
    assert_invalid(info.value, "INVALID_PHONE", "to", raw)
    assert info.value.value == raw.strip()
    assert info.value.hint is not None and "010-1234-5678" in info.value.hint


def test_normalize_phone_reports_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone("12345", field="row 3 to")
    assert_invalid(info.value, "INVALID_PHONE", "row 3 to", "12345")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("010-1234-5678", True),
        ("+82 19 123 4567", True),
        ("02-123-4567", False),
        ("1588-1234", False),
        ("070-1234-5678", False),
        ("+1 202 555 0123", False),
    ],
    ids=["mobile", "plus82-mobile", "landline", "representative", "internet", "international"],
)
def test_is_mobile(raw: str, expected: bool) -> None:
    assert is_mobile(normalize_phone(raw)) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02-123-4567", "021234567"),
        ("1588-1234", "15881234"),
        ("1600 1234", "16001234"),
        ("+82 10-1234-5678", "01012345678"),
        ("031.123.4567", "0311234567"),
    ],
    ids=["landline", "1588", "1600", "plus82", "area-dots"],
)
def test_normalize_sender_accepts(raw: str, expected: str) -> None:
    assert normalize_sender(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12345", "+1 202 555 0123", "sender"], ids=["short", "international", "word"]
)
def test_normalize_sender_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_sender(raw)
    assert_invalid(info.value, "INVALID_PHONE", "from", raw)


MOBILE_PREFIXES = st.sampled_from(["010", "011", "016", "017", "018", "019"])
SEPARATORS = st.sampled_from(["", "-", " ", ".", " - ", "\t"])


@given(
    prefix=MOBILE_PREFIXES,
    middle=st.from_regex(r"\A[0-9]{3,4}\Z"),
    last=st.from_regex(r"\A[0-9]{4}\Z"),
    sep1=SEPARATORS,
    sep2=SEPARATORS,
    plus82=st.booleans(),
    parens=st.booleans(),
)
def test_formatted_mobile_normalizes_to_its_digits(
    prefix: str, middle: str, last: str, sep1: str, sep2: str, plus82: bool, parens: bool
) -> None:
    # "+82 10..." drops the trunk 0; "+82 (010)..." keeps it, and both must be accepted.
    head = f"+82 ({prefix})" if plus82 and parens else f"({prefix})" if parens else prefix
    if plus82 and not parens:
        head = "+82 " + prefix[1:]
    raw = f"{head}{sep1}{middle}{sep2}{last}"
    if prefix == "010" and len(middle) == 3:  # 010 numbers have exactly 8 more digits
        with pytest.raises(InvalidInput) as info:
            normalize_phone(raw)
        assert "11 digits" in str(info.value)
        return
    result = normalize_phone(raw)
    assert result == Recipient(number=prefix + middle + last, country="82")
    assert normalize_phone(str(result)) == result


@given(
    country=st.sampled_from(["1", "44", "81", "86", "852", "971"]),
    national=st.from_regex(r"\A[1-9][0-9]{6,10}\Z"),
)
def test_international_normalization_is_idempotent(country: str, national: str) -> None:
    result = normalize_phone(f"+{country} {national}")
    assert result == Recipient(number=national, country=country)
    assert normalize_phone(str(result)) == result
    assert normalize_phone(result.e164) == result


# --- bytes, placeholders, interpolation ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (0, False)),
        ("abc", (3, False)),
        ("가", (2, False)),
        ("가a\n", (4, False)),
        ("똠", (2, False)),
        ("™·", (4, False)),
        ("😀", (4, True)),
        ("a😀가", (7, True)),
        ("❤️", (8, True)),
        ("가" * 1000, (2000, False)),
    ],
    ids=[
        "empty",
        "ascii",
        "hangul",
        "newline",
        "uhc-extension",
        "ks-symbols",
        "emoji",
        "mixed-emoji",
        "emoji-variation-selector",
        "long-hangul",
    ],
)
def test_count_bytes(text: str, expected: tuple[int, bool]) -> None:
    assert count_bytes(text) == expected


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_count_bytes_of_ascii_is_its_length(text: str) -> None:
    assert count_bytes(text) == (len(text), False)


@given(st.text(), st.text())
def test_count_bytes_is_additive(left: str, right: str) -> None:
    whole, whole_flag = count_bytes(left + right)
    (a, a_flag), (b, b_flag) = count_bytes(left), count_bytes(right)
    assert whole == a + b
    assert whole_flag == (a_flag or b_flag)
    assert whole >= len(left + right)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("안녕 #{name}, 코드 #{ code } #{name}", ["name", "code"]),
        ("#{} and #{ }", []),
        ("no placeholders", []),
        ("#{a}#{b}#{a}#{c}", ["a", "b", "c"]),
        ("#{a{b}}", []),
        ("#name {x}", []),
    ],
    ids=[
        "unique-stripped",
        "empty-is-literal",
        "none",
        "order",
        "nested-braces",
        "not-a-placeholder",
    ],
)
def test_placeholders(text: str, expected: list[str]) -> None:
    assert placeholders(text) == expected


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("안녕 #{name}님", {"name": "홍길동"}, "안녕 홍길동님"),
        ("#{ name }/#{name}", {"name": "x"}, "x/x"),
        ("#{a}", {"a": "#{b}", "b": "no"}, "#{b}"),
        ("literal #{} stays", {}, "literal #{} stays"),
        ("plain", {"unused": "1"}, "plain"),
    ],
    ids=["fill", "spaces", "single-pass", "empty-literal", "no-placeholders"],
)
def test_interpolate(text: str, variables: Mapping[str, str], expected: str) -> None:
    assert interpolate(text, variables) == expected


def test_interpolate_lists_every_missing_name() -> None:
    with pytest.raises(InvalidInput) as info:
        interpolate("#{name}님 #{code} #{ok}", {"ok": "1"})
    err = info.value
    assert_invalid(err, "MISSING_VARIABLE", "text", "name, code")
    assert "name" in err.message and "code" in err.message
    assert err.value == "name, code"


# --- variables, type, id ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "json_text", "expected"),
    [
        ([], None, {}),
        (["a=1"], None, {"a": "1"}),
        (["a=b=c"], None, {"a": "b=c"}),
        ([" a =x "], None, {"a": "x "}),
        (["a="], None, {"a": ""}),
        (
            [],
            '{"s": "x", "n": 3, "f": 1.5, "t": true, "z": null}',
            {"s": "x", "n": "3", "f": "1.5", "t": "true", "z": ""},
        ),
        (["a=cli"], '{"a": "json", "b": "j"}', {"a": "cli", "b": "j"}),
        (["a=1", "a=2"], None, {"a": "2"}),
    ],
    ids=[
        "none",
        "pair",
        "first-equals",
        "key-stripped",
        "empty-value",
        "json-scalars",
        "var-overrides-vars",
        "last-var-wins",
    ],
)
def test_parse_variables(pairs: list[str], json_text: str | None, expected: dict[str, str]) -> None:
    assert parse_variables(pairs, json_text) == expected


@pytest.mark.parametrize(
    ("pairs", "json_text", "field", "value"),
    [
        (["novalue"], None, "var", "novalue"),
        (["=x"], None, "var", "=x"),
        ([], "[1, 2]", "vars", "[1, 2]"),
        ([], "{bad", "vars", "{bad"),
        ([], '{"a": {"b": 1}}', "vars", "a"),
        ([], '{"a": [1]}', "vars", "a"),
        ([], '{\n"a": }', "vars", '{\n"a": }'),
    ],
    ids=[
        "no-equals",
        "empty-key",
        "json-array",
        "json-syntax",
        "nested-object",
        "list-value",
        "multiline-json",
    ],
)
def test_parse_variables_rejects(
    pairs: list[str], json_text: str | None, field: str, value: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_variables(pairs, json_text)
    assert_invalid(info.value, "INVALID_VARIABLE", field, value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sms", MessageType.SMS),
        ("AlimTalk", MessageType.ALIMTALK),
        (" lms ", MessageType.LMS),
        ("FRIENDTALK", MessageType.FRIENDTALK),
        (None, None),
        ("", None),
    ],
    ids=["lower", "mixed", "spaces", "upper", "none", "blank"],
)
def test_parse_type(raw: str | None, expected: MessageType | None) -> None:
    assert parse_type(raw) == expected


def test_parse_type_rejects_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_type("telegram")
    assert_invalid(info.value, "INVALID_TYPE", "type", "telegram")
    assert "ALIMTALK" in info.value.message


@pytest.mark.parametrize(("typo", "meant"), [("LMSS", "LMS"), ("alimtlak", "ALIMTALK")])
def test_a_mistyped_type_names_the_nearest_one(typo: str, meant: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_type(typo)
    assert_invalid(info.value, "INVALID_TYPE", "type", typo)
    assert info.value.message.startswith(f"'{typo}' is not a message type; did you mean {meant}?")
    assert info.value.hint is not None and "FRIENDTALK" in info.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("order-1", "order-1"), ("  x  ", "x"), ("batch:12", "batch:12"), ("a" * 200, "a" * 200)],
    ids=["plain", "stripped", "colon", "200-chars"],
)
def test_validate_message_id(raw: str, expected: str) -> None:
    assert validate_message_id(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "a b", "a" * 201, "a\nb", "a\x00b"], ids=["empty", "space", "201", "newline", "nul"]
)
def test_validate_message_id_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_message_id(raw)
    assert_invalid(info.value, "INVALID_ID", "id", raw.replace("\x00", "\\x00"))


# --- build_message: type decision and limits ------------------------------------------------

TYPE_CASES = [
    ("short-korean", {"text": "안녕하세요"}, MessageType.SMS, 10),
    ("45-hangul-is-sms", {"text": "가" * 45}, MessageType.SMS, 90),
    ("46-hangul-is-lms", {"text": "가" * 46}, MessageType.LMS, 92),
    ("90-ascii-is-sms", {"text": "a" * 90}, MessageType.SMS, 90),
    ("91-ascii-is-lms", {"text": "a" * 91}, MessageType.LMS, 91),
    ("2000-bytes-lms", {"text": "a" * 2000}, MessageType.LMS, 2000),
    ("1000-hangul-lms", {"text": "가" * 1000}, MessageType.LMS, 2000),
    ("explicit-lms-short", {"text": "hi", "type": "lms"}, MessageType.LMS, 2),
    ("image-is-mms", {"text": "hi", "image": "a.jpg"}, MessageType.MMS, 2),
    ("explicit-mms", {"text": "hi", "type": "MMS", "image": "a.jpg"}, MessageType.MMS, 2),
    ("lms-with-subject", {"text": "hi", "type": "LMS", "subject": "a" * 40}, MessageType.LMS, 2),
    ("subject-20-hangul", {"text": "a" * 100, "subject": "가" * 20}, MessageType.LMS, 100),
    ("interpolated-long", {"text": "#{v}", "variables": {"v": "가" * 50}}, MessageType.LMS, 100),
    ("interpolated-short", {"text": "#{v}" * 30, "variables": {"v": "a"}}, MessageType.SMS, 30),
    ("friendtalk", {"text": "가" * 1000, "type": "FRIENDTALK"}, MessageType.FRIENDTALK, 2000),
    (
        "friendtalk-image",
        {"text": "hi", "type": "FRIENDTALK", "image": "a.png"},
        MessageType.FRIENDTALK,
        2,
    ),
    ("template-implies-alimtalk", {"template_id": "T1"}, MessageType.ALIMTALK, 0),
]


@pytest.mark.parametrize(
    ("fields", "kind", "size"), [c[1:] for c in TYPE_CASES], ids=[c[0] for c in TYPE_CASES]
)
def test_type_and_bytes(fields: dict[str, Any], kind: MessageType, size: int) -> None:
    message = build(**fields)
    assert message.type is kind
    assert message.byte_length == size


def test_defaults_of_a_plain_sms() -> None:
    message = build(text="점검 안내", provider_id=" solapi ")
    assert message == Message(
        message_id="m-1",
        type=MessageType.SMS,
        to=Recipient("01012345678"),
        text="점검 안내",
        byte_length=9,
        provider_id="solapi",
    )


@pytest.mark.parametrize(
    ("threshold", "text", "kind"),
    [
        (40, "a" * 40, MessageType.SMS),
        (40, "a" * 41, MessageType.LMS),
        (200, "a" * 91, MessageType.LMS),
        (0, "a" * 91, MessageType.LMS),
    ],
    ids=["lower-threshold-at", "lower-threshold-over", "higher-capped-at-90", "zero-means-90"],
)
def test_auto_lms_threshold(threshold: int, text: str, kind: MessageType) -> None:
    assert build(auto_lms_bytes=threshold, text=text).type is kind


@pytest.mark.rule("SOLAPI-SMS-CHARSET", "ALIGO-SMS-AUTOLMS")
def test_emoji_counts_four_bytes_and_warns() -> None:
    message = build(text="안녕😀")
    assert message.byte_length == 8
    assert codes(message) == ["NON_KS_CHARACTERS"]


def test_the_non_ks_warning_names_the_characters_once_each() -> None:
    (notice,) = build(text="배포 — 완료 😀 —", type="LMS").warnings
    assert "('—' U+2014, '😀' U+1F600)" in notice.message
    (notice,) = build(text="①—–•😀", type="LMS").warnings  # ① is in KS X 1001
    assert "('—' U+2014, '–' U+2013, '•' U+2022, ...)" in notice.message


def test_friendtalk_emoji_does_not_warn() -> None:
    assert codes(build(text="😀", type="FRIENDTALK")) == []


def test_subject_on_inferred_sms_makes_lms() -> None:
    message = build(text="hi", subject="공지")
    assert message.type is MessageType.LMS
    assert codes(message) == ["SUBJECT_IMPLIES_LMS"]


def test_warnings_in_order_found() -> None:
    message = build(to="02-123-4567", text="😀", subject="s")
    assert codes(message) == ["NOT_MOBILE", "SUBJECT_IMPLIES_LMS", "NON_KS_CHARACTERS"]
    assert "landline" in message.warnings[0].message


def test_subject_is_interpolated() -> None:
    message = build(text="#{n}님", subject="#{n}님 공지", variables={"n": "홍"})
    assert (message.text, message.subject) == ("홍님", "홍님 공지")


def test_international_recipient_and_sender() -> None:
    message = build(to="+1 202 555 0123", text="hi", sender="02-123-4567")
    assert message.to == Recipient("2025550123", "1")
    assert message.sender == "021234567"
    assert codes(message) == []


def test_message_id_and_sender() -> None:
    message = build(text="hi", message_id=" order-7 ", sender="1588-1234")
    assert (message.message_id, message.sender) == ("order-7", "15881234")
    assert build(text="hi", message_id="").message_id == "m-1"


def test_scheduled_at() -> None:
    assert build(text="hi", at="+10m").scheduled_at == NOW + timedelta(minutes=10)
    local = build(text="hi", at="2026-11-22 10:00").scheduled_at
    assert local == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


BUILD_ERRORS = [
    ("explicit-sms-over-90", {"text": "a" * 91, "type": "SMS"}, "TEXT_TOO_LONG", "text", "91"),
    ("explicit-sms-46-hangul", {"text": "가" * 46, "type": "sms"}, "TEXT_TOO_LONG", "text", "92"),
    ("lms-2001", {"text": "a" * 2001}, "TEXT_TOO_LONG", "text", "2001"),
    ("mms-2001", {"text": "a" * 2001, "image": "a.jpg"}, "TEXT_TOO_LONG", "text", "2001"),
    (
        "friendtalk-1001-chars",
        {"text": "a" * 1001, "type": "FRIENDTALK"},
        "TEXT_TOO_LONG",
        "text",
        "1001",
    ),
    (
        "alimtalk-1001-chars",
        {"text": "a" * 1001, "template_id": "T"},
        "TEXT_TOO_LONG",
        "text",
        "1001",
    ),
    (
        "subject-41",
        {"text": "hi", "type": "LMS", "subject": "a" * 41},
        "SUBJECT_TOO_LONG",
        "subject",
        "a" * 41,
    ),
    (
        "subject-21-hangul",
        {"text": "hi", "subject": "가" * 21},
        "SUBJECT_TOO_LONG",
        "subject",
        "가" * 21,
    ),
    (
        "subject-on-sms",
        {"text": "hi", "type": "SMS", "subject": "공지"},
        "SUBJECT_NOT_ALLOWED",
        "subject",
        "공지",
    ),
    ("missing-variables", {"text": "#{name} #{code}"}, "MISSING_VARIABLE", "text", "name, code"),
    (
        "missing-subject-variable",
        {"text": "hi", "subject": "#{title}"},
        "MISSING_VARIABLE",
        "subject",
        "title",
    ),
    ("missing-text", {}, "MISSING_TEXT", "text", ""),
    ("blank-text", {"text": "  \n "}, "MISSING_TEXT", "text", ""),
    # a text that is blank only once its variables are filled in (an empty cell)
    ("blank-rendered", {"text": "#{a}", "variables": {"a": ""}}, "MISSING_TEXT", "text", "#{a}"),
    (
        "blank-rendered-spaces",
        {"text": " #{a} #{b}", "variables": {"a": " ", "b": ""}},
        "MISSING_TEXT",
        "text",
        "#{a}, #{b}",
    ),
    (
        "blank-rendered-failover",
        {"template_id": "T", "failover_text": "#{a}", "variables": {"a": ""}},
        "MISSING_FAILOVER_TEXT",
        "failover_text",
        "#{a}",
    ),
    ("mms-without-image", {"text": "hi", "type": "MMS"}, "MISSING_IMAGE", "image", ""),
    (
        "image-on-sms",
        {"text": "hi", "type": "SMS", "image": "a.jpg"},
        "IMAGE_NOT_ALLOWED",
        "image",
        "a.jpg",
    ),
    (
        "image-on-lms",
        {"text": "hi", "type": "LMS", "image": "a.jpg"},
        "IMAGE_NOT_ALLOWED",
        "image",
        "a.jpg",
    ),
    (
        "image-on-alimtalk",
        {"template_id": "T", "image": "a.jpg"},
        "IMAGE_NOT_ALLOWED",
        "image",
        "a.jpg",
    ),
    ("bad-recipient", {"to": "12345", "text": "hi"}, "INVALID_PHONE", "to", "12345"),
    ("bad-sender", {"text": "hi", "sender": "12345"}, "INVALID_PHONE", "from", "12345"),
    (
        "international-sender",
        {"text": "hi", "sender": "+1 202 555 0123"},
        "INVALID_PHONE",
        "from",
        "+1 202 555 0123",
    ),
    ("bad-type", {"text": "hi", "type": "telegram"}, "INVALID_TYPE", "type", "telegram"),
    ("bad-id", {"text": "hi", "message_id": "a b"}, "INVALID_ID", "id", "a b"),
    ("past-at", {"text": "hi", "at": "2020-01-01 10:00"}, "PAST_TIME", "at", "2020-01-01 10:00"),
    ("garbage-at", {"text": "hi", "at": "soon"}, "INVALID_TIME", "at", "soon"),
    (
        "alimtalk-without-template",
        {"type": "ALIMTALK", "text": "hi"},
        "MISSING_TEMPLATE",
        "template",
        "",
    ),
    (
        "template-on-sms",
        {"type": "SMS", "text": "hi", "template_id": "T1"},
        "TEMPLATE_NOT_ALLOWED",
        "template",
        "T1",
    ),
    (
        "alimtalk-missing-variable",
        {"template_id": "T", "text": "#{name}님"},
        "MISSING_VARIABLE",
        "text",
        "name",
    ),
]


@pytest.mark.parametrize(
    ("fields", "code", "field", "value"),
    [c[1:] for c in BUILD_ERRORS],
    ids=[c[0] for c in BUILD_ERRORS],
)
def test_build_message_rejects(fields: dict[str, Any], code: str, field: str, value: str) -> None:
    assert_invalid(build_error(**fields), code, field, value)


def test_explicit_sms_over_90_hint() -> None:
    err = build_error(text="a" * 91, type="SMS")
    assert "91 bytes" in err.message
    assert err.hint == "omit --type to send it as LMS, or use --type LMS"


def test_missing_variables_names_every_one() -> None:
    err = build_error(text="#{name}님, 코드 #{code}", variables={"other": "x"})
    assert "name" in err.message and "code" in err.message


# --- AlimTalk and failover -------------------------------------------------------------------


def test_alimtalk_passes_variables_and_renders_text() -> None:
    variables = {"name": "홍길동", "code": "1234"}
    message = build(template_id=" TPL_01 ", text="#{name}님 #{code}", variables=variables)
    assert message.type is MessageType.ALIMTALK
    assert message.template_id == "TPL_01"
    assert message.text == "홍길동님 1234"
    assert dict(message.variables) == variables
    assert message.failover is None


FAILOVER_CASES = [
    ("short-is-sms", {"failover_text": "가" * 45}, MessageType.SMS, 90, None),
    ("long-is-lms", {"failover_text": "가" * 46}, MessageType.LMS, 92, None),
    ("explicit-lms", {"failover_text": "hi", "failover_type": "lms"}, MessageType.LMS, 2, None),
    (
        "subject-makes-lms",
        {"failover_text": "hi", "failover_subject": "알림"},
        MessageType.LMS,
        2,
        "알림",
    ),
    ("measured-after-interpolation", {"failover_text": "#{long}"}, MessageType.LMS, 100, None),
]


@pytest.mark.parametrize(
    ("fields", "kind", "size", "subject"),
    [c[1:] for c in FAILOVER_CASES],
    ids=[c[0] for c in FAILOVER_CASES],
)
def test_failover_type_inference(
    fields: dict[str, Any], kind: MessageType, size: int, subject: str | None
) -> None:
    message = build(template_id="T", variables={"long": "가" * 50}, **fields)
    assert message.failover is not None
    assert message.failover.type is kind
    assert message.failover.byte_length == size
    assert message.failover.subject == subject


FAILOVER_ERRORS = [
    (
        "failover-on-sms",
        {"text": "hi", "failover_text": "fb"},
        "FAILOVER_NOT_ALLOWED",
        "failover_text",
        "fb",
    ),
    (
        "failover-type-on-lms",
        {"text": "hi", "type": "LMS", "failover_type": "SMS"},
        "FAILOVER_NOT_ALLOWED",
        "failover_type",
        "SMS",
    ),
    (
        "type-without-text",
        {"template_id": "T", "failover_type": "LMS"},
        "MISSING_FAILOVER_TEXT",
        "failover_text",
        "",
    ),
    (
        "mms-failover",
        {"template_id": "T", "failover_text": "x", "failover_type": "MMS"},
        "INVALID_TYPE",
        "failover_type",
        "MMS",
    ),
    (
        "unknown-failover-type",
        {"template_id": "T", "failover_text": "x", "failover_type": "telegram"},
        "INVALID_TYPE",
        "failover_type",
        "telegram",
    ),
    (
        "explicit-sms-too-long",
        {"template_id": "T", "failover_text": "가" * 46, "failover_type": "SMS"},
        "TEXT_TOO_LONG",
        "failover_text",
        "92",
    ),
    (
        "lms-too-long",
        {"template_id": "T", "failover_text": "a" * 2001},
        "TEXT_TOO_LONG",
        "failover_text",
        "2001",
    ),
    (
        "subject-on-sms-failover",
        {
            "template_id": "T",
            "failover_text": "x",
            "failover_type": "SMS",
            "failover_subject": "제목",
        },
        "SUBJECT_NOT_ALLOWED",
        "failover_subject",
        "제목",
    ),
    (
        "failover-subject-41",
        {"template_id": "T", "failover_text": "x", "failover_subject": "a" * 41},
        "SUBJECT_TOO_LONG",
        "failover_subject",
        "a" * 41,
    ),
    (
        "failover-missing-variable",
        {"template_id": "T", "failover_text": "#{x}"},
        "MISSING_VARIABLE",
        "failover_text",
        "x",
    ),
]


@pytest.mark.parametrize(
    ("fields", "code", "field", "value"),
    [c[1:] for c in FAILOVER_ERRORS],
    ids=[c[0] for c in FAILOVER_ERRORS],
)
def test_failover_rejects(fields: dict[str, Any], code: str, field: str, value: str) -> None:
    assert_invalid(build_error(**fields), code, field, value)


# --- the numbering plan, and numbers a spreadsheet has mangled --------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("010-1234-5678", "01012345678"),
        ("011-123-4567", "0111234567"),
        ("016-1234-5678", "01612345678"),
        ("019-123-4567", "0191234567"),
        ("02-123-4567", "021234567"),
        ("031-1234-5678", "03112345678"),
        ("070-1234-5678", "07012345678"),
        ("1588-1234", "15881234"),
        ("1644-1234", "16441234"),
        ("1899-1234", "18991234"),
    ],
)
def test_numbering_plan_accepts(raw: str, number: str) -> None:
    assert normalize_phone(raw).number == number


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("010-1234-567", "010 numbers have 11 digits, not 10"),
        ("010-123-45678-9", "010 numbers have 11 digits, not 12"),
        ("012-1234-5678", "mobile prefixes are 010, 011 and 016-019"),
        ("015-123-4567", "mobile prefixes are 010, 011 and 016-019"),
        ("1700-1234", "is not a valid Korean phone number"),
        ("02-12-345", "is not a valid Korean phone number"),
    ],
)
def test_numbering_plan_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw)
    assert_invalid(info.value, "INVALID_PHONE", "to", raw)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("raw", "guess"), [("1012345678", "01012345678"), ("212345678", "0212345678")]
)
def test_a_leading_zero_dropped_by_excel_gets_a_hint(raw: str, guess: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw)
    assert f"leading 0 is missing ({guess}?)" in str(info.value)
    assert info.value.hint is not None and "Excel" in info.value.hint


@pytest.mark.parametrize("raw", ["1.01235E+10", "1.01235e10", "8.21012E+11", "1E+10"])
def test_a_number_excel_wrote_in_scientific_notation_gets_a_hint(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw)
    assert_invalid(info.value, "INVALID_PHONE", "to", raw)
    assert "scientific notation" in info.value.message and "digits are lost" in info.value.message
    assert info.value.hint is not None and "as Text" in info.value.hint


def test_a_dropped_plus_gets_a_hint() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone("821012345678")
    assert "+821012345678 without its '+'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("안녕 {name}님", "{name}"),
        ("안녕 {{ name }}님", "{{ name }}"),
        ("안녕 ${name}님", "${name}"),
        ("안녕 %name%님", "%name%"),
        ("#{name} and #{{name}}", "#{{name}}"),
    ],
    ids=["braces", "double-braces", "dollar", "percent", "hash-double-braces"],
)
def test_another_tools_placeholder_naming_a_variable_is_refused(text: str, written: str) -> None:
    # It would go out as written to everyone: `{name}` was meant as `#{name}`
    with pytest.raises(InvalidInput) as info:
        interpolate(text, {"name": "홍길동"})
    assert_invalid(info.value, "PLACEHOLDER_SYNTAX", "text", written)
    assert info.value.hint == "write #{name} to fill in the variable 'name'"


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("{name} with no variables at all", {}),
        ("{other} is not a variable", {"name": "x"}),
        ("50% 할인, 100% 환불", {"name": "x"}),
        ("#{name}님", {"name": "x"}),
        ('json {"name": 1}', {"name": "x"}),
    ],
    ids=["no-variables", "other-name", "percent-signs", "our-syntax", "json-like"],
)
def test_braces_that_name_no_variable_stay_as_written(
    text: str, variables: Mapping[str, str]
) -> None:
    rendered = interpolate(text, variables)
    assert rendered == text.replace("#{name}", variables.get("name", "#{name}"))


def test_a_variable_that_differs_only_in_case_gets_a_did_you_mean() -> None:
    with pytest.raises(InvalidInput) as info:
        interpolate("#{Name}님 #{code}", {"name": "kim", "code": "1"})
    assert info.value.code == "MISSING_VARIABLE" and info.value.value == "Name"
    assert info.value.hint is not None and "did you mean #{name} for #{Name}?" in info.value.hint


def test_a_blank_rendered_text_names_the_empty_placeholders() -> None:
    error = build_error(text="#{name} #{day}", variables={"name": "", "day": " "})
    assert error.code == "MISSING_TEXT"
    assert error.message.startswith("the message text is empty once #{name}, #{day} are filled in")
    error = build_error(text="#{name}", variables={"name": ""})
    assert error.message.startswith("the message text is empty once #{name} is filled in (")
    # a placeholder with a value keeps the text: an empty one among others is only a warning
    assert build(text="#{name}님 #{day}", variables={"name": "", "day": ""}).text == "님 "


def test_a_subject_left_blank_by_its_variables_is_no_subject() -> None:
    message = build(text="hello", subject="#{t}", variables={"t": " "})
    assert (message.type, message.subject) == (MessageType.SMS, None)
    assert "SUBJECT_IMPLIES_LMS" not in codes(message)
    kept = build(text="hello", subject="#{t} 안내", variables={"t": ""})
    assert (kept.type, kept.subject) == (MessageType.LMS, " 안내")
    failover = build(
        template_id="T", failover_text="문자", failover_subject="#{t}", variables={"t": ""}
    )
    assert failover.failover is not None
    assert (failover.failover.type, failover.failover.subject) == (MessageType.SMS, None)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("01012345678", "010-1234-5678"),
        ("0111234567", "011-123-4567"),
        ("021234567", "02-123-4567"),
        ("0212345678", "02-1234-5678"),
        ("03112345678", "031-1234-5678"),
        ("07012345678", "070-1234-5678"),
        ("050512345678", "0505-1234-5678"),
        ("15881234", "1588-1234"),
        ("+442079460958", "+442079460958"),  # international: as stored
        ("12345", "12345"),  # nothing kmsg would store: untouched
        ("", ""),
    ],
)
def test_format_phone_groups_korean_numbers_as_people_write_them(stored: str, shown: str) -> None:
    from kmsg_cli.normalize.phone import format_phone

    assert format_phone(stored) == shown
    if shown != stored:  # and what it shows reads back as the same number
        assert str(normalize_phone(shown)) == stored


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (" lms ", MessageType.LMS),
        ("sms", MessageType.SMS),
        (None, None),
        ("  ", None),
        ("MMS", "failover type 'MMS' is not allowed; use SMS or LMS"),
        ("SNS", "'SNS' is not a failover type; did you mean SMS?"),
        ("xyz", "'xyz' is not a failover type; use SMS or LMS"),
    ],
)
def test_a_failover_type_is_sms_or_lms_and_a_typo_gets_the_nearer(
    given: str | None, expected: MessageType | str | None
) -> None:
    from kmsg_cli.normalize.message import parse_failover_type

    if expected is None or isinstance(expected, MessageType):
        assert parse_failover_type(given) is expected
        return
    with pytest.raises(InvalidInput) as info:
        parse_failover_type(given, field="failover-type")
    assert info.value.code == "INVALID_TYPE"
    assert info.value.message == f"{expected} (field 'failover-type')"
    assert info.value.hint == "use --failover-type SMS or LMS, or omit it to choose by length"


@pytest.mark.parametrize(
    ("kind", "fields", "warned"),
    [
        ("SMS", {"text": "점검 안내"}, True),
        ("VOICE", {"text": "내일 점검이 있습니다"}, False),
        ("FAX", {"files": ("contract.pdf",)}, False),
    ],
)
def test_a_landline_is_warned_about_only_for_types_it_cannot_receive(
    kind: str, fields: dict[str, Any], warned: bool
) -> None:
    # A call or a fax reaches a landline; a text message usually does not.
    message = build(to="02-1234-5678", type=kind, **fields)
    assert ("NOT_MOBILE" in codes(message)) is warned
