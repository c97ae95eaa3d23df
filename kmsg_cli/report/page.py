"""`kmsg report --html FILE`: one self-contained page with charts (optional extra `[report]`).

Charts are drawn by pygal as SVG and put inline; the page is a jinja2 template
(templates/report.html) with its styles inline. Nothing is loaded from the network: no
script, font or style sheet is linked, and pygal's own comments and tooltip script are taken
out of its SVG. Labels are Korean (with the English term where it helps), the layout holds on
a phone screen, and a print style sheet keeps the charts on paper (docs/report.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kmsg_cli import __version__
from kmsg_cli.errors import UsageError
from kmsg_cli.report.figures import PERCENTILES, LocalClock, Report, duration_text

EXTRA_HINT = "pip install 'kmsg[report]'"
FONTS = "'Noto Sans KR','Noto Sans CJK KR','NanumGothic','Apple SD Gothic Neo','Malgun Gothic',sans-serif"  # noqa: E501
COLORS = {
    "delivered": "#2e7d32",
    "failed": "#c62828",
    "unknown": "#8d6e63",
    "pending": "#f9a825",
    "neutral": "#1565c0",
}
STAGES = {
    "rows": ("입력 행", "rows read"),
    "valid": ("유효", "valid"),
    "accepted": ("접수", "accepted"),
    "sent": ("발송", "sent"),
    "delivered": ("전달", "delivered"),
    "failed": ("실패", "failed"),
    "unknown": ("미확인", "unknown"),
    "cancelled": ("취소", "cancelled"),
    "pending": ("추적 중", "still pending"),
}
STAGE_NAMES = {"send": "접수 실패", "delivery": "전달 실패", "unknown": "결과 불명"}
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def check_available() -> None:
    """UsageError (exit 2) naming the extra to install when pygal or jinja2 is missing."""
    from importlib.util import find_spec

    missing = [module for module in ("pygal", "jinja2") if find_spec(module) is None]
    if missing:
        raise UsageError(
            f"--html needs {' and '.join(missing)}, from the optional extra 'report'",
            code="MISSING_EXTRA",
            field="html",
            value=",".join(missing),
            hint=EXTRA_HINT,
        )


def render_page(report: Report, *, timezone: str) -> str:
    """The whole page as one string of HTML."""
    check_available()
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kmsg_cli.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    clock = LocalClock(timezone)
    context = _context(report, clock)
    return env.get_template("report.html").render(**context)


def duration(ms: int | None) -> str:
    """A latency for people: `850 ms`, `12.5초`, `3.2분`, `1.5시간`."""
    return duration_text(ms, ("초", "분", "시간"))


def _bucket_label(lower: int, upper: int | None) -> str:
    if upper is None:
        return f"{duration(lower)} 이상"
    return f"~{duration(upper)}"


def _context(report: Report, clock: LocalClock) -> dict[str, Any]:
    f = report.funnel
    funnel = [
        (key, ko, en, getattr(f, key))
        for key, (ko, en) in STAGES.items()
        if getattr(f, key) is not None
    ]
    rate = "—" if f.delivery_rate is None else f"{100 * f.delivery_rate:.1f}%"
    lat = report.latency
    charts: dict[str, str] = {}
    if not report.empty:
        charts["funnel"] = _bar(
            [ko for _k, ko, _en, _v in funnel],
            [("메시지 수", [v or 0 for *_rest, v in funnel], COLORS["neutral"])],
            horizontal=True,
            narrow=True,
        )
        if report.failures:
            top = report.failures[:12]
            labels = [f"{x.code} ({x.provider_id})" for x in top]
            charts["failures"] = _bar(
                labels, [("건수", [x.count for x in top], COLORS["failed"])], horizontal=True
            )
        if lat.count:
            lowers = [0] + [upper or 0 for upper, _n in lat.histogram[:-1]]
            labels = [
                _bucket_label(lo, up) for lo, (up, _n) in zip(lowers, lat.histogram, strict=True)
            ]
            charts["latency"] = _bar(
                labels, [("전달 건수", [n for _up, n in lat.histogram], COLORS["delivered"])]
            )
        if report.timeline:
            moments = [clock.local(at) for at, _d, _f in report.timeline]
            if (report.timeline_bucket_ms or 0) >= 86_400_000:
                shape = "%m-%d"
            elif moments[0].date() == moments[-1].date():
                shape = "%H:%M"
            else:
                shape = "%m-%d %H:%M"
            labels = [moment.strftime(shape) for moment in moments]
            charts["timeline"] = _bar(
                labels,
                [
                    ("전달 delivered", [d for _at, d, _f in report.timeline], COLORS["delivered"]),
                    ("실패 failed", [x for _at, _d, x in report.timeline], COLORS["failed"]),
                ],
                stacked=True,
                legend=True,
            )
    return {
        "version": __version__,
        "title": _title(report, clock),
        "generated": clock.text(report.generated_ms),
        "started": clock.text(report.batch_input.started_ms) if report.batch_input else "",
        "empty": report.empty,
        "notes": report.notes,
        "funnel": funnel,
        "f": f,
        "rate": rate,
        "failures": report.failures,
        "stage_names": STAGE_NAMES,
        "latency": lat,
        "percentiles": [(p, duration(lat.percentiles_ms.get(p))) for p in PERCENTILES],
        "mean": duration(lat.mean_ms),
        "max": duration(lat.max_ms),
        "by_provider": report.by_provider,
        "by_type": report.by_type,
        "fallbacks": report.fallbacks,
        "tracking": report.tracking,
        "next_check": clock.text(report.tracking.next_check_ms),
        "charts": charts,
        "fonts": FONTS,
        "colors": COLORS,
    }


TITLE_WORDS = {
    "batch": "배치",
    "last_batch": "최근 배치",
    "no_batch": "최근 배치 (아직 없음)",
    "period": "{start} ~ {end}",
    "start": "처음",
    "end": "지금",
    "provider_id": "업체",
    "providers": "업체",
    "type": "유형",
    "to": "수신",
}


def _title(report: Report, clock: LocalClock) -> str:
    return " · ".join(report.selection_parts(clock, TITLE_WORDS)) or "전체 메시지"


def _pygal() -> Any:
    """pygal, without the import hook it adds for its map plugins (`pygal.maps.*`, unused
    here): the hook only has the old `find_module` API, so every later import that reaches
    it raises ImportWarning (an error where warnings are errors)."""
    import sys

    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _bar(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    legend: bool = False,
    narrow: bool = False,
) -> str:
    """One bar chart as inline SVG (no comments, no script). Horizontal bars read from the
    top: the first label is drawn on top. A `narrow` chart shares its row with a table."""
    pygal = _pygal()
    from pygal.style import Style

    font = 18 if narrow else 14  # a narrow chart is drawn smaller on the page
    sized = ("label", "major_label", "legend")  # the values are drawn a point smaller
    style = Style(
        font_family=FONTS,
        **{f"{text}_font_family": FONTS for text in (*sized, "value", "title")},
        **{f"{text}_font_size": font for text in sized},
        value_font_size=font - 1,
        background="transparent",
        plot_background="transparent",
        colors=tuple(color for _name, _values, color in series),
    )
    kind = pygal.HorizontalStackedBar if horizontal and stacked else pygal.HorizontalBar
    if not horizontal:
        kind = pygal.StackedBar if stacked else pygal.Bar
    rows = max(len(labels), 1)
    chart = kind(
        style=style,
        js=[],
        disable_xml_declaration=True,
        show_legend=legend,
        legend_at_bottom=True,
        print_values=not stacked,
        width=800,
        height=max(150, 34 * rows + 90) if horizontal else 360,
        margin=12,
        x_label_rotation=0 if horizontal or rows <= 8 else 35,
        truncate_label=-1,
        show_minor_x_labels=horizontal or rows <= 16,
        x_labels_major_every=None if horizontal else max(1, rows // 12),
        show_y_guides=not horizontal,
        show_x_guides=horizontal,
        min_scale=1,
    )
    columns = zip(*(values for _name, values, _color in series), strict=True)
    largest = max((sum(c) if stacked else max(c) for c in columns), default=0)
    if largest <= 10:  # counts: whole-number ticks, not 0.1, 0.2, ...
        chart.y_labels = list(range(largest + 1))
    order = slice(None, None, -1) if horizontal else slice(None)
    chart.x_labels = list(labels)[order]
    for name, values, _color in series:
        chart.add(name, list(values)[order])
    svg = chart.render(is_unicode=True)
    return _SCRIPT.sub("", _COMMENT.sub("", svg))
