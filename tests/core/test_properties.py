"""Property tests (hypothesis) of the pure core: phone numbers, byte counting and the message
type decision, `#{var}` interpolation, `--var`/`--vars`, `--at` and durations.

Every property holds for any input: the result is either a value that satisfies the invariant
or one of kmsg's typed errors (`KmsgError` subclasses), never another exception.

Profiles (registered at the end of tests/conftest.py):
- default `HYPOTHESIS_PROFILE=ci`: derandomized (reproducible) and sized for CI;
- `HYPOTHESIS_PROFILE=long pytest tests/core/test_properties*.py`: 20x the examples of every test.

Companion files: test_properties_input.py (CSV/JSONL rows, TOML config) and
test_properties_providers.py (every provider's answer parsing).
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from kmsg_cli.errors import InvalidInput, KmsgError
from kmsg_cli.jobs.codec import message_from_data, message_to_data
from kmsg_cli.models import MessageDraft, MessageType, Recipient
from kmsg_cli.normalize import (
    LONG_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    build_message,
    count_bytes,
    interpolate,
    normalize_phone,
    normalize_sender,
    parse_variables,
    placeholders,
)
from kmsg_cli.providers.aligo import kakao as aligo_kakao
from kmsg_cli.providers.aligo import sms as aligo_sms
from kmsg_cli.providers.iwinv import client as iwinv_client
from kmsg_cli.providers.solapi import client as solapi_client
from kmsg_cli.when import format_local, parse_duration, parse_when


def examples(n: int) -> settings:
    """`n` examples under the default profile, proportionally more under `long`."""
    return settings(max_examples=max(n, n * settings().max_examples // 100))


NOW = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)

# --- phone numbers ---------------------------------------------------------------------------

_PHONE_CHARS = st.sampled_from([*"0123456789+-.() \t", "０", "１", "－", "\u2010", "٣"])
PHONE_LIKE = st.text(_PHONE_CHARS, max_size=24) | st.text(max_size=24)
MOBILE_PREFIXES = st.sampled_from(["010", "011", "016", "017", "018", "019"])
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KOREAN_NATIONAL = re.compile(
    r"010\d{8}|01[16789]\d{7,8}|02\d{7,8}|0[3-6][1-5]\d{7,8}|070\d{8}|050[2-8]\d{7,8}|1[568]\d{6}"
)


def _check_phone(raw: str, result: Recipient | None, error: KmsgError | None, field: str) -> None:
    if error is not None:
        assert isinstance(error, InvalidInput)
        assert error.code == "INVALID_PHONE"
        assert error.field == field
        assert error.value == raw.strip()
        assert "\n" not in str(error)
        return
    assert result is not None
    assert result.number.isascii() and result.number.isdigit()
    assert result.country.isascii() and result.country.isdigit()
    if result.is_korean:
        assert _KOREAN_NATIONAL.fullmatch(result.number), result
    # a normalized number re-normalizes to itself, in both written forms
    assert normalize_phone(str(result), field=field) == result
    assert normalize_phone(result.e164, field=field) == result


@examples(300)
@given(PHONE_LIKE)
@example("+82")
@example("0082")
@example("+82 1588-1234")
@example("+８２ １０ １２３４ ５６７８")
@example("٠١٠١٢٣٤٥٦٧٨")  # Arabic-Indic digits are digits to str.isdigit, not to carriers
def test_any_text_is_a_phone_number_or_invalid_phone(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except KmsgError as error:
        _check_phone(raw, None, error, "to")
    else:
        _check_phone(raw, result, None, "to")


@examples(200)
@given(PHONE_LIKE)
def test_any_text_is_a_korean_sender_or_invalid_phone(raw: str) -> None:
    try:
        sender = normalize_sender(raw)
    except KmsgError as error:
        _check_phone(raw, None, error, "from")
    else:
        assert _KOREAN_NATIONAL.fullmatch(sender)
        assert normalize_sender(sender) == sender
        assert normalize_phone(raw, field="from") == Recipient(sender, "82")


@st.composite
def written_mobile(draw: st.DrawFn) -> tuple[str, str]:
    """(a Korean mobile number as someone might write it, its national digits)."""
    prefix = draw(MOBILE_PREFIXES)
    # 010 numbers have exactly 8 digits after the prefix; the older ranges 7 or 8.
    middle = draw(st.from_regex(r"\A[0-9]{4}\Z" if prefix == "010" else r"\A[0-9]{3,4}\Z"))
    last = draw(st.from_regex(r"\A[0-9]{4}\Z"))
    digits = prefix + middle + last
    sep = st.sampled_from(["", "-", " ", ".", " - ", "\t", "\u2010", "\u2212"])
    head = draw(
        st.sampled_from(
            [
                prefix,
                f"({prefix})",
                f"+82{prefix[1:]}",
                f"+82 {prefix[1:]}",
                f"+82-{prefix[1:]}",
                f"+82 ({prefix})",
                f"+82 (0){prefix[1:]}",
                f"0082 {prefix[1:]}",
                f"0082-{prefix}",
                f"+82{prefix}",
            ]
        )
    )
    written = f"{head}{draw(sep)}{middle}{draw(sep)}{last}"
    if draw(st.booleans()):
        written = written.translate(_FULLWIDTH)  # NFKC folds full-width forms
    padding = st.sampled_from(["", " ", "\t", "\n", "\u3000"])
    return draw(padding) + written + draw(padding), digits


@examples(300)
@given(written_mobile())
def test_every_written_form_of_a_mobile_normalizes_to_its_digits(
    case: tuple[str, str],
) -> None:
    written, digits = case
    assert normalize_phone(written) == Recipient(digits, "82")
    assert normalize_sender(written) == digits


@pytest.mark.parametrize("written", ["82-10-1234-5678", "8201012345678", "82 10 1234 5678"])
def test_a_bare_82_without_plus_or_00_is_not_a_korean_number(written: str) -> None:
    # docs/messages.md: only "+82" and "0082" are prefixes; "82..." is neither Korean nor
    # international
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(written)
    assert caught.value.code == "INVALID_PHONE"


# --- byte counting and the message type -----------------------------------------------------

# ASCII, Hangul syllables (2 bytes in CP949 when in KS X 1001; the others are not), symbols,
# emoji and lone surrogates (not encodable at all).
TEXT_CHARS = st.one_of(
    st.characters(max_codepoint=0x7F, exclude_characters="#"),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.sampled_from(list("™·€¥…「」㈜①")),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.characters(categories=["Cs"]),
    st.characters(),
)
MESSAGE_TEXT = st.text(TEXT_CHARS, max_size=1100).filter(lambda text: not placeholders(text))


def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


@examples(300)
@given(MESSAGE_TEXT)
@example("\udc80")
@example("가\ud800나")
def test_count_bytes_matches_cp949_or_counts_4_per_foreign_character(text: str) -> None:
    size, non_ks = count_bytes(text)
    assert non_ks == (not all(_encodable(ch) for ch in text))
    if not non_ks:
        assert size == len(text.encode("cp949"))
    foreign = sum(1 for ch in text if not _encodable(ch))
    assert len(text) <= size <= 2 * (len(text) - foreign) + 4 * foreign


_RANK: dict[str, int] = {MessageType.SMS: 0, MessageType.LMS: 1}


def _decide(text: str, **draft: Any) -> MessageType | str:
    """The type build_message decides for `text`, or the code of its InvalidInput."""
    try:
        message = build_message(
            MessageDraft(to="010-1234-5678", text=text, **draft), default_id="m", now=NOW
        )
    except InvalidInput as error:
        return error.code
    return message.type


@examples(300)
@given(MESSAGE_TEXT, st.integers(min_value=-5, max_value=200))
def test_inferred_type_follows_the_cp949_size(text: str, auto_lms_bytes: int) -> None:
    draft = MessageDraft(to="010-1234-5678", text=text)
    size, non_ks = count_bytes(text)
    threshold = min(auto_lms_bytes, SMS_MAX_BYTES) if auto_lms_bytes > 0 else SMS_MAX_BYTES
    try:
        message = build_message(draft, default_id="m", auto_lms_bytes=auto_lms_bytes, now=NOW)
    except InvalidInput as error:
        if not text.strip():
            assert error.code == "MISSING_TEXT"
        else:
            assert error.code == "TEXT_TOO_LONG"
            assert size > LONG_MAX_BYTES
            assert error.value == str(size)
        return
    assert text.strip()
    assert message.text == text
    assert message.byte_length == size
    codes = [notice.code for notice in message.warnings]
    assert ("NON_KS_CHARACTERS" in codes) == non_ks
    if message.type is MessageType.SMS:
        assert size <= threshold <= SMS_MAX_BYTES  # an accepted SMS is at most 90 bytes
    else:
        assert message.type is MessageType.LMS
        assert threshold < size <= LONG_MAX_BYTES


@examples(200)
@given(MESSAGE_TEXT, st.data())
def test_inferred_type_is_monotone_in_length(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    shorter, longer = _decide(text[:cut]), _decide(text)
    if shorter == "MISSING_TEXT" or longer == "MISSING_TEXT":
        return
    rank: dict[str, int] = {**_RANK, "TEXT_TOO_LONG": 2}
    assert rank[shorter] <= rank[longer]


@examples(200)
@given(MESSAGE_TEXT, st.sampled_from(["SMS", "sms", " Sms ", "LMS"]))
def test_explicit_type_is_kept_or_refused_never_truncated(text: str, kind: str) -> None:
    size, _ = count_bytes(text)
    decided = _decide(text, type=kind)
    if not text.strip():
        assert decided == "MISSING_TEXT"
    elif kind.strip().upper() == "SMS":
        assert decided == (MessageType.SMS if size <= SMS_MAX_BYTES else "TEXT_TOO_LONG")
    else:
        assert decided == (MessageType.LMS if size <= LONG_MAX_BYTES else "TEXT_TOO_LONG")


@examples(200)
@given(
    st.text(TEXT_CHARS, min_size=1, max_size=200).filter(str.strip),
    st.text(TEXT_CHARS, max_size=40),
    st.sampled_from([None, "SMS", "LMS"]),
)
def test_a_subject_makes_lms_and_is_at_most_40_bytes(
    text: str, subject: str, kind: str | None
) -> None:
    decided = _decide(text, subject=subject, type=kind)
    size, _ = count_bytes(text)
    subject_size, _ = count_bytes(subject)
    if not subject.strip():  # a blank subject is no subject
        assert decided == _decide(text, type=kind)
    elif kind == "SMS":  # never accepted; the subject is the first fault reported
        assert decided == "SUBJECT_NOT_ALLOWED"
    elif size > LONG_MAX_BYTES:
        assert decided == "TEXT_TOO_LONG"
    elif subject_size > SUBJECT_MAX_BYTES:
        assert decided == "SUBJECT_TOO_LONG"
    else:
        assert decided is MessageType.LMS


_OPTIONAL = st.none() | st.sampled_from(["", " "]) | st.text(TEXT_CHARS, max_size=30)
_VALID_TO = st.sampled_from(["010-1234-5678", "+82 10 1234 5678", "02-123-4567", "+1 4155550100"])


@st.composite
def drafts(draw: st.DrawFn) -> MessageDraft:
    """Mostly plausible drafts (so that messages get built), with every field sometimes odd."""
    odd = draw(st.integers(min_value=0, max_value=3)) == 0
    alimtalk = draw(st.booleans())
    fields: dict[str, Any] = {
        "to": draw(PHONE_LIKE if odd else _VALID_TO),
        "text": draw(
            st.none() | MESSAGE_TEXT | st.sampled_from(["안녕 #{name}", "#{ code }", " "])
            if odd
            else st.sampled_from(["안녕 #{name}", "hello"]) | MESSAGE_TEXT
        ),
        "type": draw(
            st.none() | st.sampled_from([*MessageType, "sms", " lms ", "RCS", ""])
            if odd or not alimtalk
            else st.sampled_from([None, "ALIMTALK"])
        ),
        "subject": draw(st.none() | _OPTIONAL | st.just("#{name} 님")),
        "sender": draw(
            st.none() | st.sampled_from(["0212345678", "+1 415 555 0100", ""]) | PHONE_LIKE
            if odd
            else st.none() | st.just("02-1234-5678")
        ),
        "image": draw(st.none() | st.sampled_from(["photo.jpg", " "])),
        "variables": draw(
            st.dictionaries(
                st.sampled_from(["name", "code", " name"]),
                st.text(TEXT_CHARS, max_size=60),
                max_size=2,
            )
        ),
        "at": draw(st.none() | st.sampled_from(["+10m", "2020-01-01 00:00", "soon", " "])),
        "provider_id": draw(st.none() | st.sampled_from(["solapi", " aligo ", ""])),
        "message_id": draw(
            st.none() | st.sampled_from(["order-1", " ", "a b", "x" * 201]) | st.text(max_size=8)
            if odd
            else st.none() | st.just("order-1")
        ),
    }
    if alimtalk or odd:
        fields["template_id"] = draw(st.sampled_from(["T-1", " TPL "]) | st.none())
        fields["failover_text"] = draw(_OPTIONAL | st.just("대체 #{name}"))
        fields["failover_type"] = draw(st.none() | st.sampled_from(["SMS", "lms", "MMS", "x", ""]))
        fields["failover_subject"] = draw(st.none() | _OPTIONAL)
    return MessageDraft(**fields)


DRAFTS = drafts()


@examples(300)
@given(DRAFTS, st.integers(min_value=-1, max_value=120))
def test_any_draft_is_a_message_that_keeps_the_limits_or_invalid_input(
    draft: MessageDraft, auto_lms_bytes: int
) -> None:
    try:
        message = build_message(draft, default_id="default", auto_lms_bytes=auto_lms_bytes, now=NOW)
    except InvalidInput as error:
        event(error.code)
        assert error.code and error.code == error.code.upper()
        assert error.field
        assert "\n" not in error.message and "\r" not in error.message
        return
    event(f"built {message.type.value}")
    size, _ = count_bytes(message.text)
    assert message.byte_length == size
    assert message.message_id
    if message.type is MessageType.SMS:
        assert size <= SMS_MAX_BYTES and message.subject is None and message.image is None
    elif message.type in (MessageType.LMS, MessageType.MMS):
        assert size <= LONG_MAX_BYTES
        assert (message.image is not None) == (message.type is MessageType.MMS)
    if message.subject is not None:
        assert count_bytes(message.subject)[0] <= SUBJECT_MAX_BYTES
    if message.type is MessageType.ALIMTALK:
        assert message.template_id
    else:
        assert message.failover is None and message.template_id is None
        assert placeholders(message.text) == []  # interpolated
    if message.failover is not None:
        assert message.failover.type in (MessageType.SMS, MessageType.LMS)
        limit = SMS_MAX_BYTES if message.failover.type is MessageType.SMS else LONG_MAX_BYTES
        assert message.failover.byte_length == count_bytes(message.failover.text)[0] <= limit
    if message.scheduled_at is not None:
        assert message.scheduled_at > NOW
    # the job queue stores the message as JSON and must get the same message back
    data = json.loads(json.dumps(message_to_data(message)))
    assert message_from_data(data) == message


# --- #{var} interpolation --------------------------------------------------------------------

NAME_CHARS = st.characters(exclude_characters="{}", exclude_categories=["Cs"])
NAMES = st.text(NAME_CHARS, min_size=1, max_size=8).filter(str.strip)
TEMPLATE_TEXT = st.text(
    st.sampled_from(list("#{} ab가\n")) | st.characters(exclude_categories=["Cs"]), max_size=60
)


@examples(400)
@given(TEMPLATE_TEXT, st.dictionaries(NAMES | st.text(max_size=3), st.text(max_size=10)))
@example("#{a} #{ b } #{a}", {})
@example("#{#{a}}", {"a": "b"})
@example("#{}#{ }", {})
@example("#{a} {b}", {"b": "x"})
def test_interpolate_fills_or_names_every_missing_variable(
    text: str, variables: dict[str, str]
) -> None:
    missing = [name for name in placeholders(text) if name not in variables]
    try:
        result = interpolate(text, variables, field="text")
    except InvalidInput as error:
        if error.code == "PLACEHOLDER_SYNTAX":  # `{a}` or `%a%` where `a` is a variable
            assert error.value is not None and error.value in text
            assert error.value[0] in "{$%#" and error.value[-1] in "}%"
            assert any(name in error.value for name in variables if name)
            return
        assert missing
        assert error.code == "MISSING_VARIABLE"
        assert error.field == "text"
        assert error.value == ", ".join(missing)
        for name in missing:
            assert name in error.message
        return
    assert not missing
    if not placeholders(text):
        assert result == text


# `%name%` is another tool's placeholder, refused when it names a variable (tested above)
_LITERAL = st.text(st.characters(exclude_characters="{}%"), max_size=8)
_PLACEHOLDER = st.tuples(
    NAMES, st.sampled_from(["", " ", "  "]), st.sampled_from(["", " ", "\t"])
).map(lambda parts: ("name", parts[1] + parts[0] + parts[2]))
# Control characters other than tab and line breaks are refused (below); values are text.
_VALUES = st.text(
    st.sampled_from(list("#{}ab 가\t\n\r")) | st.characters(exclude_categories=["Cc"]),
    max_size=12,
)


@examples(400)
@given(
    st.lists(st.one_of(_LITERAL.map(lambda s: ("text", s)), _PLACEHOLDER), max_size=8),
    st.data(),
)
@example([("name", "a"), ("text", "-"), ("name", "b")], None)
def test_interpolate_replaces_each_placeholder_once_and_never_re_interpolates(
    parts: list[tuple[str, str]], data: st.DataObject | None
) -> None:
    names = {value.strip() for kind, value in parts if kind == "name"}
    if data is None:  # the explicit example: values that look like placeholders themselves
        variables = {"a": "#{b}", "b": "#{a}"}
    else:
        variables = data.draw(st.fixed_dictionaries(dict.fromkeys(sorted(names), _VALUES)))
    template = "".join("#{" + value + "}" if kind == "name" else value for kind, value in parts)
    expected = "".join(
        variables[value.strip()] if kind == "name" else value for kind, value in parts
    )
    result = interpolate(template, variables)
    assert result == expected
    if all("{" not in value and "}" not in value for value in variables.values()):
        assert placeholders(result) == []  # nothing of the template is left over


@examples(200)
@given(st.text(max_size=6), st.characters(categories=["Cc"]), st.text(max_size=6))
def test_a_variable_with_a_control_character_is_refused_naming_it(
    before: str, control: str, after: str
) -> None:
    value = before + control + after
    if not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        assert interpolate("#{v}", {"v": value}) == value  # tab and line breaks are text
        return
    with pytest.raises(InvalidInput) as caught:
        interpolate("[#{v}]", {"v": value})
    error = caught.value
    assert error.code == "INVALID_VARIABLE" and error.field == "v"
    assert "\n" not in error.message and "\x00" not in error.message


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner)


@examples(150)
@given(
    st.lists(st.text(max_size=12)),
    st.none()
    | st.text(max_size=30)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        _json_containers,
        max_leaves=8,
    ).map(json.dumps),
)
@example([], "[" * 5000)
@example([], '{"a": ' + "[" * 5000 + "}")
@example(["=x", "a"], None)
def test_parse_variables_gives_strings_or_invalid_variable(
    pairs: list[str], json_text: str | None
) -> None:
    try:
        result = parse_variables(pairs, json_text)
    except InvalidInput as error:
        assert error.code == "INVALID_VARIABLE"
        assert "\n" not in error.message
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())
    assert all(key == key.strip() and key for key in result)
    for pair in pairs:  # --var wins, the last one of a key
        key, _, value = pair.partition("=")
        if [p for p in pairs if p.partition("=")[0].strip() == key.strip()][-1] == pair:
            assert result[key.strip()] == value


# --- --at and durations ----------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        "Asia/Seoul",
        "UTC",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
        "Etc/GMT+12",
    ]
)
_ABSOLUTE_LIKE = st.from_regex(
    r"\A\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,6})?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)?\Z"
)
_RELATIVE_LIKE = st.from_regex(r"\A\s*\+(\s*\d{1,30}\s*[a-zA-Z]{1,7})+\s*\Z")
WHEN_TEXT = st.one_of(st.text(max_size=40), _ABSOLUTE_LIKE, _RELATIVE_LIKE)
NOWS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@examples(250)
@given(WHEN_TEXT, ZONES | st.text(max_size=12), NOWS)
@example("+" + "1" * 4400 + "m", "Asia/Seoul", NOW)
@example("0001-01-01 00:00+00:00", "America/New_York", NOW)
@example("0001-01-01 00:00", "Etc/GMT+12", NOW)
@example("9999-12-31 23:59-23:59", "Asia/Seoul", NOW)
@example("+99999999999d", "UTC", NOW)
@example("9999-12-31T23:00Z", "Asia/Seoul", NOW)  # accepted, then shown in Korea time: year 10000
def test_parse_when_gives_a_later_utc_instant_or_a_typed_error(
    value: str, zone: str, now: datetime
) -> None:
    try:
        moment = parse_when(value, now=now, timezone=zone)
    except InvalidInput as error:
        assert error.code in ("INVALID_TIME", "PAST_TIME", "INVALID_TIMEZONE")
        assert "\n" not in error.message
        return
    assert moment.utcoffset() == timedelta(0)
    assert moment > now
    format_local(moment, zone)  # what kmsg shows, and what the Korean providers send
    for wire in (
        iwinv_client.kst,
        aligo_kakao.kakao_senddate,
        aligo_sms.sms_schedule,
        solapi_client.utc_date,
    ):
        wire(moment)


_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
FUTURE = st.datetimes(min_value=datetime(2026, 11, 24), max_value=datetime(9998, 12, 31))


@examples(300)
@given(FUTURE, _OFFSETS, st.sampled_from(["T", "t", " "]), st.booleans())
def test_iso_8601_with_an_offset_round_trips(
    local: datetime, offset: timezone, separator: str, space_before_offset: bool
) -> None:
    moment = local.replace(tzinfo=offset)
    text = moment.isoformat(sep=separator)
    if space_before_offset:
        text = text[:-6] + " " + text[-6:]
    if offset.utcoffset(None) == timedelta(0) and separator == "t":
        text = text[:-6] + "z"
    assert parse_when(text, now=NOW, timezone="Asia/Seoul") == moment


@examples(300)
@given(FUTURE, ZONES)
def test_local_wall_time_round_trips_in_the_profile_zone(moment: datetime, zone: str) -> None:
    instant = moment.replace(tzinfo=UTC, microsecond=0)
    local = instant.astimezone(ZoneInfo(zone))
    parsed = parse_when(f"{local:%Y-%m-%d %H:%M:%S}", now=NOW, timezone=zone)
    if local.fold:  # an ambiguous wall time (the repeated DST hour) means its first instance
        assert parsed == local.replace(fold=0).astimezone(UTC)
    else:
        assert parsed == instant


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "minutes": 60, "h": 3600, "hr": 3600, "d": 86400}


@examples(300)
@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(sorted(_UNITS)),
    NOWS,
)
def test_relative_times_are_now_plus_the_delta_and_monotone(
    small: int, extra: int, unit: str, now: datetime
) -> None:
    def at(amount: int) -> datetime | None:
        try:
            return parse_when(f"+{amount}{unit}", now=now)
        except InvalidInput as error:
            assert error.code == "PAST_TIME"
            assert amount == 0
            return None

    first, second = at(small), at(small + extra)
    if first is not None:
        assert first == now + timedelta(seconds=small * _UNITS[unit])
        assert second is not None and first <= second
    if second is not None:
        assert second == now + timedelta(seconds=(small + extra) * _UNITS[unit])


@examples(200)
@given(st.one_of(st.text(max_size=20), st.from_regex(r"\A[0-9.]{1,12}[smhdwSMHDW]{1,2}\Z")))
@example("²")
@example("1" * 4400)
@example("9" * 400 + "w")
@example("0s")
@example("0.5ms")  # positive, but 0 whole milliseconds
def test_parse_duration_of_any_text_is_positive_milliseconds_or_invalid(value: str) -> None:
    try:
        result = parse_duration(value)
    except InvalidInput as error:
        assert error.code == "INVALID_DURATION"
        return
    assert isinstance(result, int)
    assert result > 0


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -1.5, 0, True, [1], {"a": 1}, None, datetime(2026, 1, 1)],
)
def test_parse_duration_of_a_non_duration_value_is_invalid(value: Any) -> None:
    # TOML gives config values of any type: `max_duration = nan` or `backoff = [[1]]`
    with pytest.raises(InvalidInput) as caught:
        parse_duration(value)
    assert caught.value.code == "INVALID_DURATION"


@examples(300)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from("smhdw")),
        min_size=1,
        max_size=4,
    )
)
def test_parse_duration_adds_its_parts(parts: list[tuple[int, str]]) -> None:
    unit_ms = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
    text = "".join(f"{amount}{unit}" for amount, unit in parts)
    total = sum(amount * unit_ms[unit] for amount, unit in parts)
    if total == 0:
        with pytest.raises(InvalidInput):
            parse_duration(text)
    else:
        assert parse_duration(text) == total
        assert parse_duration(text.upper()) == total
