"""Number formats of workbook cells rendered as Excel shows them (kmsg_cli.bulk_input.xlsx_format).

Each expected text is what Excel displays (and writes into a CSV saved from the sheet) for that
value under that format; None means the format is left to the General form.
"""

from __future__ import annotations

from datetime import datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmsg_cli.bulk_input.xlsx_format import display, display_date

ACCOUNTING = '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)'


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (15000, "#,##0", "15,000"),
        (1234567.5, "#,##0.00", "1,234,567.50"),
        (-15, "#,##0", "-15"),
        (0, "#,##0", "0"),
        (0, "#,###", ""),
        (0.15, "0%", "15%"),
        (0.1234, "0.00%", "12.34%"),
        (2.5, "0", "3"),  # halves round away from zero, as Excel does
        (3.14159, "0.00", "3.14"),
        (0.5, "#.00", ".50"),
        (1.5, "0.0#", "1.5"),
        (1.25, "0.0#", "1.25"),
        (7, "00", "07"),
        (1012345678, "000-0000-0000", "010-1234-5678"),
        (1012345678, "0##########", "01012345678"),
        (15000, '#,##0"원"', "15,000원"),
        (15000, "[$₩-412]#,##0", "₩15,000"),
        (15000, "\\₩#,##0", "₩15,000"),
        (123, '"No. "0', "No. 123"),
        (1234567, "#,##0,", "1,235"),
        (1234567, '#,##0,"천원"', "1,235천원"),
        (-1500, "#,##0_);(#,##0)", "(1,500)"),
        (-1500, "#,##0_);[Red](#,##0)", "(1,500)"),
        (15000, ACCOUNTING, "15,000"),
        (-15000, ACCOUNTING, "(15,000)"),
        (0, ACCOUNTING, "-"),
        (15, "General", None),
        (5, "@", None),
        (44000, "yyyy-mm-dd", None),
        (1.5, "# ?/?", None),
        (12345, "0.00E+00", None),
        (7, "[>=10]0;0", None),
        (7, "[DBNum1]0", None),
        (7, '0"unclosed', None),
    ],
)
def test_a_number_is_shown_as_excel_shows_it(
    value: float, number_format: str, shown: str | None
) -> None:
    assert display(value, number_format) == shown


MOMENT = datetime(2026, 12, 25, 9, 5, 7)  # a Friday


@pytest.mark.parametrize(
    ("number_format", "shown"),
    [
        ("yyyy-mm-dd", "2026-12-25"),
        ('yyyy"년" m"월" d"일"', "2026년 12월 25일"),
        ('[$-412]yyyy"년" m"월" d"일" aaa', "2026년 12월 25일 금"),
        ('m"월" d"일" aaaa', "12월 25일 금요일"),
        ("yyyy.mm.dd", "2026.12.25"),
        ("yy/mm/dd", "26/12/25"),
        ("yyyy-mm-dd h:mm:ss", "2026-12-25 9:05:07"),
        ("hh:mm", "09:05"),  # m after h is minutes
        ("mm:ss", "05:07"),  # m before s is minutes
        ("mm-dd-yy", "2026-12-25"),  # the system short date, in Korean order
        ("m/d/yy h:mm", "2026-12-25 9:05"),
        ("mmm d", None),  # month and weekday names depend on the language
        ("dddd", None),
        ("h:mm AM/PM", None),
        ("[h]:mm", None),
        ("ss.00", None),
        ("General", None),
    ],
)
def test_a_date_is_shown_as_excel_shows_it(number_format: str, shown: str | None) -> None:
    assert display_date(MOMENT, number_format) == shown


def test_a_time_has_no_date_parts() -> None:
    assert display_date(time(13, 30), "h:mm") == "13:30"
    assert display_date(time(13, 30), "yyyy-mm-dd") is None


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (1e30, "#,##0", "1,000,000,000,000,000,000,000,000,000,000"),  # beyond 28 digits
        (float("inf"), "0", None),
        (float("nan"), "0.00", None),
    ],
)
def test_huge_and_odd_numbers_never_break_the_reading(
    value: float, number_format: str, shown: str | None
) -> None:
    assert display(value, number_format) == shown


@given(
    st.text(alphabet='0#?.,%;"\\_*[]$-+/@ Eeymdhsa원₩()', max_size=16),
    st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_any_format_gives_text_or_none_never_an_error(number_format: str, value: float) -> None:
    shown = display(value, number_format)
    assert shown is None or isinstance(shown, str)
    dated = display_date(MOMENT, number_format)
    assert dated is None or isinstance(dated, str)


def test_a_cell_whose_format_cannot_be_read_is_shown_as_general() -> None:
    from kmsg_cli.bulk_input.xlsx_rows import _cell

    class BrokenStyle:
        value = 15000.0

        @property
        def number_format(self) -> str:
            raise IndexError("style index out of range")  # a damaged styles part

    assert _cell(BrokenStyle()) == "15000"
