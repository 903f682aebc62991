"""A real HTTP receiver on 127.0.0.1 for webhook tests (http.server in a thread).

It verifies signatures exactly as the README's integration guide tells a bank to, and
de-duplicates on the Idempotency-Key as a bank's receiver should.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """The README's algorithm: t and every v1 from the header; HMAC-SHA256 of "t.body"."""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((time.time() if now is None else now) - int(t)) <= tolerance
    return fresh and any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    #: Status codes to answer, in turn; the last repeats.
    answers: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    #: Events processed once each, keyed by Idempotency-Key (what the bank acts on).
    processed: dict[str, dict] = field(default_factory=dict)  # type: ignore[type-arg]
    #: When set, requests wait on ``release`` before answering (a slow receiver).
    hold: bool = False
    #: Seconds each request takes to answer (a receiver doing some work).
    delay: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            n = len(self.requests)
        return self.answers[min(n - 1, len(self.answers) - 1)]


@contextmanager
def receiver(answers: list[int] | None = None, *, hold: bool = False, delay: float = 0.0) -> Iterator[Receiver]:
    state = Receiver(answers=answers or [200], hold=hold, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests.append(Received(dict(self.headers.items()), body))
            state.arrived.set()
            if state.hold:
                state.release.wait(30)
            time.sleep(state.delay)
            status = state.answer()
            if status == 200:
                with state.lock:
                    state.processed.setdefault(self.headers["Idempotency-Key"], json.loads(body))
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the worker went away (killed) before the answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/rcl"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
