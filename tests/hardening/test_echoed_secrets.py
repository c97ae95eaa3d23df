"""A vendor error page that echoes our request must not carry our keys anywhere.

A local HTTP server on 127.0.0.1 stands in for a vendor's broken gateway: it answers every
request with an error page (HTML 500, JSON 400, or an HTML 200 that leaves the outcome unknown)
that quotes the request back: the form body with Aligo's `key`, the Authorization header with
SOLAPI's `apiKey`, and the same values percent-encoded and in base64. Whatever path that text
takes (the `error:` line, `--json`, `-vv` logs, `kmsg_jobs.error`, a `--results` file), the
configured secrets must be masked, while the rest of the vendor's text is still shown.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import Run

ALIGO_KEY = "ECHOED-aligo-key-5d2f9a+/=71c"
SOLAPI_KEY = "ECHOEDsolapikey83b1c0e4"
SOLAPI_SECRET = "ECHOED-solapi-secret-0f6a29d7c5e1"
SECRETS = (ALIGO_KEY, SOLAPI_KEY, SOLAPI_SECRET)


def forms(secret: str) -> list[str]:
    """The secret as a vendor may echo it: raw, percent-encoded, base64."""
    raw = secret.encode()
    return [secret, quote(secret, safe=""), base64.b64encode(raw).decode().rstrip("=")]


class EchoServer:
    """Answers every request with `mode`: "html500", "json400" or "html200", echoing it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                outer.requests += 1
                auth = self.headers.get("Authorization", "")
                # What an echoing gateway shows: the body and credentials first, then the
                # same values again in the encodings a proxy log may use.
                echo = f"{auth} {body} " + " ".join(
                    form for secret in SECRETS for form in forms(secret)[1:]
                )
                if outer.mode == "json400":
                    status, kind = 400, "application/json"
                    payload = json.dumps({"errorCode": "BadRequest", "errorMessage": echo})
                else:
                    status = 500 if outer.mode == "html500" else 200
                    kind = "text/html"
                    payload = f"<html>gateway echo: {echo}</html>"
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["html500", "json400", "html200"])
def echo(request: pytest.FixtureRequest) -> Iterator[EchoServer]:
    with EchoServer(request.param) as server:
        yield server


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "echo.toml"
    path.write_text(
        f"""
default_profile = "echo"
[profiles.echo.routing]
SMS = "aligo"
LMS = "solapi"
[profiles.echo.providers.aligo]
type = "aligo"
api_key = "{ALIGO_KEY}"
user_id = "echo-user"
sender = "0212345678"
sms_base_url = "{url}"
kakao_base_url = "{url}"
read_timeout = 5
[profiles.echo.providers.solapi]
type = "solapi"
api_key = "{SOLAPI_KEY}"
api_secret = "{SOLAPI_SECRET}"
sender = "0212345678"
base_url = "{url}"
read_timeout = 5
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def assert_clean(text: str, where: str) -> None:
    """No form of a secret, not even a 10-character piece of one (an excerpt cut inside it)."""
    for secret in SECRETS:
        for form in forms(secret):
            for start in range(len(form) - 9):
                piece = form[start : start + 10]
                assert piece not in text, f"{where} holds a piece of {form!r}: {text[:500]}"


@pytest.mark.parametrize("kind", ["SMS", "LMS"], ids=["aligo", "solapi"])
def test_an_echoing_error_page_never_shows_a_key(
    tmp_path: Path, echo: EchoServer, kind: str
) -> None:
    run = Run(tmp_path / "kmsg.sqlite")
    cfg = str(config(tmp_path, echo.url))
    text = "안내" if kind == "SMS" else "긴 안내문입니다. " * 8
    for extra in (["--json"], ["-vv"], []):
        result = run("--config", cfg, "send", "--to", "010-1234-5678", "--text", text, *extra)
        assert result.exit_code in (3, 6), result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert_clean(output, f"send {extra}")
        assert "****" in output  # the echo was shown, masked, not dropped
    assert echo.requests >= 3


def test_an_echoing_error_page_never_reaches_the_ledger_or_results(
    tmp_path: Path, echo: EchoServer
) -> None:
    db = tmp_path / "kmsg.sqlite"
    run = Run(db)
    cfg = str(config(tmp_path, echo.url))
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "to,text\n010-2000-0001,안내\n010-2000-0002," + "긴 안내문입니다. " * 8 + "\n",
        encoding="utf-8",
    )
    results = tmp_path / "results.jsonl"
    result = run(
        "--config", cfg, "send-many", str(rows), "--max-attempts", "1", "--results", str(results)
    )
    assert result.exit_code == 3, result.stdout + result.stderr
    assert_clean(result.stdout + result.stderr, "send-many output")
    lines = results.read_text(encoding="utf-8")
    assert_clean(lines, "the results file")
    with closing(sqlite3.connect(db)) as conn:
        # a failure's error, or the reason of an outcome still being looked up (SOLAPI)
        kept = [
            f"{error} {meta}"
            for error, meta in conn.execute("SELECT error, metadata FROM kmsg_jobs")
        ]
        dump = "\n".join(conn.iterdump())
    assert len(kept) == 2 and all("****" in text for text in kept), kept
    assert_clean(dump, "the database")
