"""WebSocket load: many concurrent conversations over /ws, each a calc_expiry dialogue of its own.

Starts the real server (uvicorn subprocess on 127.0.0.1, RATE_LIMIT_PER_MINUTE=0, a temporary
BOT_DB), opens one socket per conversation, says hello, then sends the turns one after another
(each waits for its reply). Every conversation has its own birth dates, so a reply that carried
another conversation's state would compute another date.

Prints total time, turns/s, p50/p99 turn latency (send → reply), and the counts that must be 0:
lost (no reply), duplicated (one id answered twice), crossed (an id, session or computed date
that belongs to another conversation), errors (error frames).

    .venv/bin/python bench/bench_ws.py [--conversations 200] [--turns 20] [--timeout 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import rules

ISSUED_ON = date(2021, 3, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def script(conversation: int, turns: int) -> list[tuple[str, date | None]]:
    """calc_expiry dialogues of 4 turns; the 3rd carries the birth date its result must be computed from."""
    out: list[tuple[str, date | None]] = []
    cycle = 0
    while len(out) < turns:
        birth = date(1940, 1, 1) + timedelta(days=conversation * 61 + cycle * 7)
        out += [
            ("有効期限を計算して", None),
            (f"{birth.year}年{birth.month}月{birth.day}日生まれです", None),
            (f"{ISSUED_ON.year}年{ISSUED_ON.month}月{ISSUED_ON.day}日にカードと一緒に発行しました", birth),
            ("ありがとう", None),
        ]
        cycle += 1
    return out[:turns]


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.lost = self.duplicated = self.crossed = self.errors = 0
        self.examples: list[str] = []

    def note(self, kind: str, what: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {what}")


async def conversation(url: str, n: int, turns: int, tally: Tally, reply_timeout: float) -> None:
    async with connect(url, open_timeout=60, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), reply_timeout))
        session_id = welcome["session_id"]
        sent: dict[str, date | None] = {}
        seen: Counter[str] = Counter()

        def check(frame: dict[str, Any]) -> None:
            frame_id = frame.get("id")
            if frame.get("type") == "error":
                tally.note("errors", str(frame)[:200])
            if frame_id not in sent:
                tally.note("crossed", f"conversation {n} got id {frame_id!r}")
                return
            seen[frame_id] += 1
            if seen[frame_id] > 1:
                tally.note("duplicated", f"{frame_id} answered {seen[frame_id]} times")
            if frame.get("session_id") != session_id:
                tally.note("crossed", f"{frame_id} answered for session {frame.get('session_id')}")
            birth = sent[frame_id]
            if birth is not None and frame.get("result") != rules.to_json(rules.expiry(birth, ISSUED_ON)):
                tally.note("crossed", f"{frame_id} computed {frame.get('result')} for birth {birth}")

        for turn, (text, birth) in enumerate(script(n, turns)):
            frame_id = f"c{n}-t{turn}"
            sent[frame_id] = birth
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": frame_id, "text": text, "session_id": session_id},
                                     ensure_ascii=False))
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), reply_timeout))
            except TimeoutError:
                continue  # counted as lost below
            tally.latencies.append((time.perf_counter() - started) * 1000)
            check(frame)
        try:  # anything arriving late is a duplicate or a reply that was counted lost
            while True:
                check(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
        except TimeoutError:
            pass
        tally.lost += sum(1 for frame_id in sent if seen[frame_id] == 0)


async def run(url: str, conversations: int, turns: int, deadline: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(conversation(url, n, turns, tally, reply_timeout=60) for n in range(conversations))), deadline
    )
    return tally, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120.0, help="for the whole run")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env={**os.environ, "RATE_LIMIT_PER_MINUTE": "0", "BOT_DB": f"{tmp}/bot.sqlite3"},
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.05)
            print(f"bench_ws: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
                  f"{args.conversations} conversations x {args.turns} turns")
            tally, elapsed = asyncio.run(run(f"ws://127.0.0.1:{port}/ws", args.conversations, args.turns, args.timeout))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    total = args.conversations * args.turns
    print(f"  total time        {elapsed:8.2f} s")
    print(f"  turns/s           {total / elapsed:8.0f}")
    print(f"  turn latency      p50 {statistics.median(tally.latencies):.1f} ms   p99 {percentile(tally.latencies, 99):.1f} ms"
          f"   (each of {args.conversations} sockets waits its reply, so this includes queueing)")
    print(f"  lost {tally.lost}   duplicated {tally.duplicated}   crossed {tally.crossed}   errors {tally.errors}"
          f"   {'ok' if tally.lost + tally.duplicated + tally.crossed + tally.errors == 0 else 'FAILED'}")
    for example in tally.examples:
        print(f"    {example}")
    if tally.lost + tally.duplicated + tally.crossed + tally.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
