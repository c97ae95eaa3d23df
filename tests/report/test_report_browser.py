"""The HTML page in a real browser: headless Chromium (Debian's package; .ci/run installs it)
renders the page of the sample data set, whose DOM must show the delivered and failed counts,
the failure codes and the charts, and a screenshot is saved beside the test's files. Never
skipped: without the browser the test fails and says how to install it."""

from __future__ import annotations

import re
import struct
from html import unescape
from pathlib import Path

from kmsg_cli.report import Report, Selection, build_report
from kmsg_cli.report.page import render_page
from kmsg_cli.store import open_store
from tests.report import browser, sample

NOW = sample.START_MS + 6 * 3_600_000


def _page(tmp_path: Path, size: int = 600) -> tuple[Path, Report]:
    with open_store(str(tmp_path / "sample.sqlite")) as store:
        store.initialize()
        sample.build(store, size=size, now_ms=NOW)
        report = build_report(
            store,
            Selection(),
            now_ms=NOW,
            provider_types=sample.PROVIDER_TYPES,
            utc_offset_ms=9 * 3_600_000,
        )
    page = tmp_path / "report.html"
    page.write_text(render_page(report, timezone="Asia/Seoul"), encoding="utf-8")
    return page, report


def _figure(dom: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"[^>]*>([^<]*)<', dom)
    assert found, f"no {name} figure in the rendered page"
    return unescape(found.group(1)).strip()


def test_chromium_renders_the_counts_the_codes_and_the_charts(tmp_path: Path) -> None:
    page, report = _page(tmp_path)
    funnel = report.funnel
    html = page.read_text(encoding="utf-8")
    # self-contained: nothing to fetch (no src/href, no url(), no @import)
    assert not re.search(r"\b(src|href)\s*=|url\(|@import", html)
    assert len(html.encode("utf-8")) < 3_000_000

    dom = browser.dump_dom(page)
    assert _figure(dom, "delivered") == f"{funnel.delivered:,}"
    assert _figure(dom, "failed") == f"{funnel.failed:,}"
    assert _figure(dom, "accepted") == f"{funnel.accepted:,}"
    # each card is its funnel row; the not-accepted part is a line under the nearest card
    assert funnel.queued and funnel.unknown_outcome  # the sample has both
    assert _figure(dom, "pending") == f"{funnel.pending:,}"
    assert _figure(dom, "queued") == f"발송 대기 {funnel.queued:,}"
    assert _figure(dom, "unknown") == f"{funnel.unknown:,}"
    assert _figure(dom, "unknown_outcome") == f"접수 미확인 {funnel.unknown_outcome:,}"
    codes = re.findall(r'<code class="code">([^<]+)</code>', dom)
    assert set(codes) == {f.code for f in report.failures}
    assert {"1062", "3104", "UNKNOWN_OUTCOME"} <= set(codes)
    for chart in ("funnel", "failures", "latency", "timeline"):
        assert re.search(rf'id="chart-{chart}"><svg\b', dom), f"no {chart} chart (svg)"
    assert "카카오톡 미사용자" in dom and "kmsg track run-once" in dom

    shot = browser.screenshot(page, tmp_path / "report.png", width=1100, height=3600)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1100, 3600)
    assert len(data) > 50_000  # a page of text and charts, not a blank image


def test_an_empty_selection_renders_an_honest_page(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "empty.sqlite")) as store:
        store.initialize()
        report = build_report(store, Selection(since_ms=NOW), now_ms=NOW)
    page = tmp_path / "empty.html"
    page.write_text(render_page(report, timezone="Asia/Seoul"), encoding="utf-8")
    dom = browser.dump_dom(page)
    assert "조건에 맞는 메시지가 없습니다" in dom and "No messages match" in dom
    assert "<svg" not in dom and 'data-figure="delivered"' not in dom
    browser.screenshot(page, tmp_path / "empty.png", width=390, height=800)
