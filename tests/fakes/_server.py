"""One base for the fake vendor servers: a threaded HTTP/1.1 server on 127.0.0.1, a manual
clock, the request log, fault injection, and the handler that reads each request and hands it
to the vendor's fake. A vendor fake (``tests.fakes.solapi``, ``.iwinv``, ``.aligo``) adds only
its vendor's behaviour, through the hooks of ``FakeServer``.

Standard library only; nothing here ever contacts another host.

The life of a request
1. The handler reads the body (Content-Length or chunked) and the fake's ``inspect`` turns the
   request into the fields of its request-log entry, the path that decides whether a fault may
   strike (``None``: never) and whatever the vendor wants to keep for ``answer``.
2. Under the fake's lock a fault is drawn and the entry is appended to ``requests`` with
   ``fault``, ``time`` (the fake clock), ``status`` and ``response`` (both ``None`` until
   answered).
3. ``latency`` seconds pass (``stop()`` cuts them short); ``early_reply`` may answer at once
   (a vendor that refuses unknown paths before drawing faults).
4. A fault that answers without processing is answered; otherwise ``answer`` runs under the
   lock (a crash in it is answered by ``internal_error``), then the *after-accept* faults
   apply to its reply.

Faults
- ``script`` entries are used first, one per request whose fault path is in ``fault_paths``
  (``None``: every path); then random faults: ``rng.random() < fault_rate`` and then
  ``rng.choice(fault_kinds)``. "ok" is no fault.
- "500", "503", "429": answered without processing, in the vendor's shape
  (``injected_error``); 503 and 429 carry ``Retry-After: 1``.
- "html": HTTP 502 with an HTML gateway page, without processing.
- "hang": no answer; the connection is closed after ``hang_seconds`` (or at ``stop()``).
- "reset": the connection is aborted with a TCP RST, without processing.
- "hang_after_accept" / "reset_after_accept": the request is processed (a send is accepted
  and stored), then the fake hangs / resets instead of answering; the log keeps the reply it
  would have sent (``status`` stays ``None``).
- "truncated": the request is processed, then answered with its status (200 for an accepted
  send) but with only the first half of the body, framed by a matching Content-Length, so the
  HTTP message is complete and the JSON in it is cut off (a JSON object or array cut short
  never parses). The log keeps the status and the whole reply.
- A script entry that is not a fault kind is answered by ``misconfigured`` (HTTP 500); the
  constructor refuses one.

Malformed HTTP (a bad request line, an unsupported method) is answered by ``malformed``.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = (
    "ok",
    "500",
    "503",
    "429",
    "hang",
    "reset",
    "html",
    "truncated",
    "hang_after_accept",
    "reset_after_accept",
)
DEFAULT_RANDOM_FAULTS = ("500", "503", "429", "reset", "html")
ANSWERED_FAULTS = ("500", "503", "429")  # answered in the vendor's shape, nothing processed
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class ManualClock:
    """A settable clock for deterministic tests: ``clock()`` returns epoch seconds."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def check_fault_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")


@dataclass
class Incoming:
    """One request as it came off the socket."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    client_ip: str

    def json_body(self) -> tuple[Any, str | None]:
        """(the decoded JSON body, None), or (None, why it is not JSON: empty, not UTF-8,
        malformed)."""
        if not self.raw:
            return None, "body is empty"
        try:
            return json.loads(self.raw.decode("utf-8")), None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return None, f"body is not valid JSON: {error}"


@dataclass
class Inspected:
    """What a fake makes of a request before it is answered (see ``FakeServer.inspect``)."""

    log: dict[str, Any]  # the vendor's fields of the request-log entry
    fault_path: str | None  # the path faults are drawn for; None: no fault
    context: Any = None  # kept for ``early_reply`` and ``answer``


@dataclass
class Reply:
    """An answer: status, body bytes and type, extra headers; ``logged`` is what the request
    log keeps as ``response`` and ``log`` more fields of the entry (e.g. an error detail)."""

    status: int
    body: bytes
    content_type: str
    logged: Any
    headers: dict[str, str] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        **log: Any,
    ) -> Reply:
        return cls(status, json_bytes(payload), JSON_TYPE, payload, dict(headers or {}), log)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = TEXT_TYPE, **log: Any) -> Reply:
        return cls(status, text.encode("utf-8"), content_type, text, {}, log)


class FakeServer:
    """The base of the fake vendor servers. Attributes set by the constructor may be
    changed at runtime (``script``, ``fault_rate``, ``fault_paths``, ``latency``, ...)."""

    gateway_page = HTML_502  # the body of the "html" fault
    send_paths: tuple[str, ...] = ()  # the vendor's send endpoints: faults strike there

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] | None = None,
        script: Iterable[str] | None = None,
        fault_paths: Iterable[str] | EllipsisType | None = ...,
        hang_seconds: float = 30.0,
        seed: int = 0,
    ) -> None:
        """``fault_paths``: the paths faults may strike (default ``send_paths``; None:
        every path). The vendor fakes take these same keywords besides their own."""
        self.host = host
        self.port = port
        self.clock: Callable[[], float] = time.time if clock is None else clock
        self.latency = float(latency)
        self.fault_rate = float(fault_rate)
        self.fault_kinds: list[str] = list(
            DEFAULT_RANDOM_FAULTS if fault_kinds is None else fault_kinds
        )
        self.script: list[str] = list(script or ())
        if fault_paths is ...:
            fault_paths = self.send_paths
        self.fault_paths: set[str] | None = None if fault_paths is None else set(fault_paths)
        self.hang_seconds = float(hang_seconds)
        self.rng = random.Random(seed)
        for kind in [*self.fault_kinds, *self.script]:
            check_fault_kind(kind)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the vendor state and the request log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ vendor hooks

    def inspect(self, request: Incoming) -> Inspected:
        """The request-log fields, fault path and context of a request (body parsing and
        routing); runs outside the lock."""
        raise NotImplementedError

    def early_reply(self, request: Incoming, context: Any) -> Reply | None:
        """An answer given before any fault (default: none)."""
        return None

    def answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        """Process the request (under the lock) and answer it in the vendor's shape."""
        raise NotImplementedError

    def injected_error(self, status: int) -> Reply:
        """The answer of an injected "500"/"503"/"429" fault."""
        raise NotImplementedError

    def internal_error(self, message: str) -> Reply:
        """The answer when ``answer`` crashed (a bug in the fake): like a real 500."""
        raise NotImplementedError

    def misconfigured(self, fault: str) -> Reply:
        """The answer to a script entry that is not a fault kind (HTTP 500)."""
        raise NotImplementedError

    def malformed(self, status: int, message: str) -> Reply:
        """The answer to a request that is malformed as HTTP."""
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        name = type(self).__name__
        if self._server is not None:
            raise RuntimeError(f"{name} is already running")
        self._stop_event.clear()
        server = _Server((self.host, self.port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{name}:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stop_event.set()  # wakes hanging and sleeping handlers
        server.shutdown()
        with self._conn_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with self._conn_lock:
                if not self._connections:
                    break
            time.sleep(0.01)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def bound_port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The server root."""
        return f"http://{self.host}:{self.bound_port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ request plumbing

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _next_fault(self, path: str | None) -> str | None:
        if path is None or (self.fault_paths is not None and path not in self.fault_paths):
            return None
        if self.script:
            kind = self.script.pop(0)
        elif self.fault_rate > 0 and self.fault_kinds and self.rng.random() < self.fault_rate:
            kind = self.rng.choice(self.fault_kinds)
        else:
            return None
        return None if kind == "ok" else kind

    def _begin(self, request: Incoming) -> tuple[Inspected, dict[str, Any]]:
        inspected = self.inspect(request)
        with self._lock:
            record: dict[str, Any] = {
                **inspected.log,
                "fault": self._next_fault(inspected.fault_path),
                "time": self.clock(),
                "status": None,
                "response": None,
            }
            self.requests.append(record)
        return inspected, record

    def _finish(self, record: dict[str, Any], reply: Reply, *, answered: bool = True) -> None:
        with self._lock:
            record["status"] = reply.status if answered else None
            record["response"] = reply.logged
            record.update(reply.log)

    def _answer(self, request: Incoming, context: Any, record: dict[str, Any]) -> Reply:
        with self._lock:
            try:
                return self.answer(request, context, record)
            except Exception as error:  # a bug in the fake: answer like a real 500
                traceback.print_exc()
                return self.internal_error(repr(error))

    def _serve(self, handler: _Handler) -> None:
        """Read, log, fault and answer one request (see the module docstring)."""
        try:
            raw = handler.read_body()
        except (OSError, ValueError):
            handler.close_connection = True
            return
        split = urlsplit(handler.path)
        request = Incoming(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in handler.headers.items()},
            raw=raw,
            client_ip=str(handler.client_address[0]),
        )
        inspected, record = self._begin(request)
        if self.latency > 0:
            self._stop_event.wait(self.latency)
        early = self.early_reply(request, inspected.context)
        if early is not None:
            self._finish(record, early)
            handler.send_reply(early)
            return
        fault = record["fault"]
        reply: Reply | None = None
        if fault is not None and fault not in FAULT_KINDS:
            reply = self.misconfigured(fault)
        elif fault in ANSWERED_FAULTS:
            reply = self.injected_error(int(fault))
            if fault != "500":
                reply.headers["Retry-After"] = "1"
        elif fault == "html":
            reply = Reply(502, self.gateway_page, HTML_TYPE, self.gateway_page.decode())
        elif fault in ("hang", "reset"):
            handler.abort(hang=fault == "hang")
            return
        if reply is not None:
            self._finish(record, reply)
            handler.send_reply(reply)
            return
        reply = self._answer(request, inspected.context, record)
        if fault in ("hang_after_accept", "reset_after_accept"):
            self._finish(record, reply, answered=False)
            handler.abort(hang=fault == "hang_after_accept")
            return
        self._finish(record, reply)
        if fault == "truncated":
            reply = Reply(
                reply.status, reply.body[: len(reply.body) // 2], reply.content_type, None
            )
        handler.send_reply(reply)

    def _hang(self) -> None:
        self._stop_event.wait(self.hang_seconds)


# --------------------------------------------------------------------------- HTTP layer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which may touch DNS: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # client went away; nothing to report
        traceback.print_exc()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = None

    def setup(self) -> None:
        super().setup()
        try:  # headers and body go out in separate writes: avoid Nagle/delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, unsupported method…): the vendor's answer."""
        self.close_connection = True
        self.send_reply(self.server.fake.malformed(int(code), message or explain or str(code)))

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    do_POST = do_GET
    do_DELETE = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def send_reply(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True

    def abort(self, *, hang: bool) -> None:
        """No answer: wait ``hang_seconds`` and close (``hang``), or reset the connection."""
        self.close_connection = True
        if hang:
            self.server.fake._hang()
            return
        try:  # SO_LINGER 0 makes close() send RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the makefile reference so close() really closes
            self.connection.close()
        except OSError:
            pass


# --------------------------------------------------------------------------- standalone


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every fake's ``python -m`` entry point takes."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_RANDOM_FAULTS),
        help="comma list drawn from: " + ", ".join(FAULT_KINDS),
    )
    parser.add_argument("--all-paths", action="store_true", help="faults on every path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)


def server_options(args: argparse.Namespace, send_paths: Sequence[str]) -> dict[str, Any]:
    """Constructor keywords from the options of ``add_server_arguments``."""
    return {
        "host": args.host,
        "port": args.port,
        "latency": args.latency_ms / 1000.0,
        "fault_rate": args.fault_rate,
        "fault_kinds": [k for k in args.fault_kinds.split(",") if k],
        "fault_paths": None if args.all_paths else send_paths,
        "seed": args.seed,
        "hang_seconds": args.hang_seconds,
    }


def serve_until_interrupted(fake: FakeServer, urls: Callable[[], Sequence[str]], note: str) -> int:
    """Start ``fake``, print its base URL(s) on stdout and ``note`` on stderr, and serve
    until Ctrl-C (SIGINT)."""
    fake.start()
    for url in urls():
        print(url, flush=True)
    print(f"{note}; Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0
