"""Headless Chromium for the report page: the rendered DOM and a screenshot, nothing else.

Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it) runs with a new empty profile,
no sandbox (CI runs as root), no GPU, no QUIC, no background or component updates, and a
proxy that leads nowhere: a page that tried to load anything from the network would show it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # the discard port: any network load fails at once
    "--proxy-bypass-list=<-loopback>",
)


def chromium_path() -> str:
    """The browser to use: /usr/bin/chromium, else `chromium` on PATH."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        raise FileNotFoundError(
            "Debian's chromium is not installed: apt-get install -y chromium (.ci/run does)"
        )
    return found


def _run(page: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="kmsg-chromium-") as profile:
        return subprocess.run(
            [chromium_path(), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def dump_dom(page: Path) -> str:
    """The DOM after Chromium loaded and laid out `page` (serialized HTML)."""
    done = _run(page, "--dump-dom", "--virtual-time-budget=2000")
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium --dump-dom failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def screenshot(page: Path, out: Path, *, width: int = 1200, height: int = 3000) -> Path:
    """A PNG of `page` as Chromium renders it at width x height CSS pixels."""
    done = _run(page, f"--screenshot={out}", f"--window-size={width},{height}")
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(
            f"chromium --screenshot failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return out
