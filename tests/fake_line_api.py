"""A fake LINE Messaging API on 127.0.0.1 over real HTTP, for the LINE channel's tests.

It records every call and answers like LINE does: 200 for a reply or push, 400
"Invalid reply token" when told to refuse reply tokens, 401 for a wrong bearer token,
409 for a push whose X-Line-Retry-Key was accepted before. It can be told to fail the
next calls with a status, or to drop the connection without answering.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any
    status: int  # what the fake answered; 0 when it dropped the connection

    def texts(self) -> list[str]:
        return [m["text"] for m in self.body["messages"]]

    def text(self) -> str:
        return "\n".join(self.texts())


class FakeLineApi:
    def __init__(self, access_token: str) -> None:
        self.access_token = access_token
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: dict[str | None, deque[int]] = {}  # by path (None: any); 0 drops the connection
        self._retry_keys: set[str] = set()
        self.reject_reply_tokens = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake._answer(self.path, headers)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with fake._lock:
                    fake._calls.append(Call(self.path, headers, body, status))
                if status == 0:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLineApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            for queue in (self._failures.get(path), self._failures.get(None)):
                if queue:
                    status = queue.popleft()
                    return status, {"message": f"fake failure {status}"}
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."}
        if path == REPLY:
            if self.reject_reply_tokens:
                return 400, {"message": "Invalid reply token"}
            return 200, {"sentMessages": []}
        if path == PUSH:
            key = headers.get("x-line-retry-key")
            with self._lock:
                if key is not None and key in self._retry_keys:
                    return 409, {"message": "The retry key is already accepted"}
                if key is not None:
                    self._retry_keys.add(key)
            return 200, {"sentMessages": []}
        return 404, {"message": "Not found"}

    # --- what tests use ---------------------------------------------------

    def fail_next(self, *statuses: int, path: str | None = None) -> None:
        """Answer the next calls (to `path`, or any) with these statuses; 0 drops the connection."""
        with self._lock:
            self._failures.setdefault(path, deque()).extend(statuses)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self.reject_reply_tokens = False

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def wait_for(self, count: int, timeout: float = 10.0, settle: float = 0.0) -> list[Call]:
        """Wait until at least `count` calls came, then `settle` seconds more for any extra."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} calls to the fake LINE API, got {self.calls!r}")
            time.sleep(0.02)
        if settle:
            time.sleep(settle)
        return self.calls
