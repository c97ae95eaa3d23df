"""Write docs/report-screenshot.png: the `kmsg report --html` page of the deterministic sample
data set (tests/report/sample.py), as headless Chromium renders it.

    python scripts/report_screenshot.py            # rewrite docs/report-screenshot.png
    python scripts/report_screenshot.py --html X   # also keep the page at X

Needs the `[report]` extra and Debian's chromium (`apt-get install -y chromium fonts-nanum`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the sample data set and the browser helper live in tests/

from kmsg_cli.report import Selection, build_report  # noqa: E402
from kmsg_cli.report.page import render_page  # noqa: E402
from kmsg_cli.store import open_store  # noqa: E402
from tests.report import browser, sample  # noqa: E402

OUT = ROOT / "docs" / "report-screenshot.png"
NOW_MS = sample.START_MS + 6 * 3_600_000  # six hours after the batch started
KST_MS = 9 * 3_600_000


def page_html(folder: Path) -> str:
    """The report page of the sample data set, built in a fresh SQLite file under `folder`."""
    store = open_store(str(folder / "sample.sqlite"))
    try:
        store.initialize()
        sample.build(store, now_ms=NOW_MS)
        report = build_report(
            store,
            Selection(),
            now_ms=NOW_MS,
            provider_types=sample.PROVIDER_TYPES,
            utc_offset_ms=KST_MS,
        )
    finally:
        store.close()
    return render_page(report, timezone="Asia/Seoul")


def main(argv: list[str]) -> int:
    keep = Path(argv[argv.index("--html") + 1]) if "--html" in argv else None
    with tempfile.TemporaryDirectory(prefix="kmsg-report-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(page_html(Path(folder)), encoding="utf-8")
        if keep is not None:
            keep.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
        browser.screenshot(page, OUT, width=1100, height=3900)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
