"""HTTP speed of the real bot against the floor: a bare FastAPI app with the same request and response.

Starts both as `uvicorn` subprocesses on 127.0.0.1 with the same settings (the bot with
RATE_LIMIT_PER_MINUTE=0 and a temporary BOT_DB), then measures, for each:

- throughput of POST /api/chat at 16 concurrent keep-alive connections for a fixed time
  (rounds alternate between the two servers; the best round of each is reported);
- one-request-at-a-time latency p50 / p99;
- cold start: process start to the first successful /api/chat answer;
- the server's resident memory (VmRSS of its process) after the run.

The client is a small raw HTTP/1.1 client on asyncio, so that the client's own cost
(httpx's is several times larger) does not hide the servers' difference.

Targets (issue 16): bot/bare throughput ≥ 0.4, p99 ≤ 2 ms, cold start ≤ 2 s, memory ≤ 400 MB.

    .venv/bin/python bench/bench_http.py [--seconds 8] [--rounds 2] [--latency-requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.http import ChatRequest, ChatResponse  # noqa: E402  (the same shapes as server.py, without the bot)

CONCURRENCY = 16


# --- the floor: same request and response shape, no bot -------------------------------------------


bare_app = FastAPI()
_CANNED = [{"text": "暗証番号を忘れた・ロックがかかった場合は、お住まいの市区町村の窓口で再設定できます。" * 3,
            "quick_replies": ["窓口・受付時間", "手数料はいくら?"]}]


# async, as the bot's route: on the event loop, no threadpool hop. (A sync route here serves
# about half as many requests; it would be a floor that a fast enough bot could beat.)
@bare_app.post("/api/chat", response_model=ChatResponse)
async def bare_chat(body: ChatRequest) -> dict[str, Any]:
    return {"session_id": body.session_id or "0123456789abcdef0123456789abcdef", "intent": "forgot_pin",
            "confidence": 0.83, "messages": _CANNED, "result": None}


# --- servers ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, name: str, app: str, env: dict[str, str], app_dir: Path, log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log.open("wb")  # the bot logs each turn (a JSON line on stderr); keep it off the table
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.cold_start_s = self._wait_for_first_answer()

    def _wait_for_first_answer(self, timeout: float = 60.0) -> float:
        body = json.dumps({"text": "暗証番号を忘れました"}, ensure_ascii=False).encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request_bytes(body))
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise SystemExit(f"{self.name} gave no answer in {timeout} s")

    def rss_mb(self, field: str = "VmRSS") -> float:
        """RssFile (mapped files: SudachiPy's dictionary, shared between processes) + RssAnon = VmRSS."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# --- a raw keep-alive HTTP/1.1 client -----------------------------------------------------------------


def request_bytes(body: bytes) -> bytes:
    head = (f"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


PREFIXES = ["", "すみません、", "あの、", "質問です。", "教えてください。", "ちょっと聞きたいんだけど、"]
SUFFIXES = ["", "?", "。", "!", "…", "よろしくお願いします", "(急ぎです)"]


def questions(distinct: int, seed: int = 7) -> list[str]:
    """`distinct` different questions: the FAQ suites, then with prefixes and suffixes."""
    sys.path.insert(0, str(ROOT))
    from bot.operations.faq import load_suites

    base = [c.question for c in load_suites(sorted((ROOT / "tests" / "faq").glob("*.yaml")))]
    texts = [p + q + s for s in SUFFIXES for p in PREFIXES for q in base][: max(1, distinct)]
    random.Random(seed).shuffle(texts)
    return texts


class Feed:
    """Requests of `distinct` different questions, each a new conversation, handed out in turn
    across all phases of a run: the matcher caches results by text, so with many distinct
    questions no phase sees one that an earlier phase sent; with a few hundred, the cache answers."""

    def __init__(self, distinct: int) -> None:
        self._requests = [request_bytes(json.dumps({"text": t}, ensure_ascii=False).encode())
                          for t in questions(distinct)]
        self._next = 0

    def __len__(self) -> int:
        return len(self._requests)

    def take(self) -> bytes:
        raw = self._requests[self._next % len(self._requests)]
        self._next += 1
        return raw


async def throughput(port: int, feed: Feed, seconds: float) -> tuple[float, int]:
    """Requests per second over `seconds` at CONCURRENCY connections; and how many were not 200."""
    conns = [await Connection.open(port) for _ in range(CONCURRENCY)]
    done = bad = 0
    stop_at = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        nonlocal done, bad
        while time.perf_counter() < stop_at:
            status, body = await conn.post(feed.take())
            done += 1
            if status != 200 or not body.startswith(b'{"session_id"'):
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return done / elapsed, bad


async def latency(port: int, feed: Feed, n: int) -> tuple[list[float], int]:
    conn = await Connection.open(port)
    out, bad = [], 0
    for _ in range(n):
        raw = feed.take()
        started = time.perf_counter()
        status, _ = await conn.post(raw)
        out.append((time.perf_counter() - started) * 1000)
        bad += status != 200
    conn.close()
    return out, bad


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class GcPauses:
    """Counts the garbage collector's runs and their longest pause, per generation, while open."""

    def __init__(self) -> None:
        self.count, self.longest, self._started = [0, 0, 0], [0.0, 0.0, 0.0], 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.count[generation] += 1
        self.longest[generation] = max(self.longest[generation], time.perf_counter() - self._started)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)


class Stages:
    """Where a turn's time goes: wraps the parts of a turn with a clock and sums each part's time.

    Inclusive times are kept per part; `table` subtracts what each part calls of the others,
    so the rows add up to the whole turn. Timing wrappers cost about a microsecond each, a
    few per turn; cProfile's overhead, by contrast, inflates small Python functions several times.
    """

    # (label, inside): a part's time, less the time of the parts it calls (`inside`).
    PARTS = (
        ("understanding: normalise, tokenise, features", ()),
        ("understanding: deciding words", ()),
        ("understanding: lexical (BM25)", ()),
        ("understanding: model (logistic regression)", ()),
        ("understanding: gate, ranking", ("understanding: normalise, tokenise, features", "understanding: deciding words",
                                          "understanding: lexical (BM25)", "understanding: model (logistic regression)")),
        ("dialogue (conversation.step)", ()),
        ("session store (load, save)", ()),
        ("turn log, metrics", ()),
        ("engine: checks, masking, the rest", ("understanding: gate, ranking", "dialogue (conversation.step)",
                                               "session store (load, save)", "turn log, metrics")),
    )

    def __init__(self) -> None:
        self.inclusive: dict[str, float] = {label: 0.0 for label, _ in self.PARTS}
        self.turns = 0

    def wrap(self, owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)
        totals = self.inclusive

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    def table(self) -> str:
        rows, total = [], 0.0
        inclusive = dict(self.inclusive)
        # The understanding parts nest: the match's own row is the match less its parts.
        for label, inside in self.PARTS:
            own = inclusive[label] - sum(inclusive[i] for i in inside)
            total += own
            rows.append((label, own))
        lines = [f"  {label:<46} {own / self.turns * 1e6:8.1f} µs  {own / total * 100:5.1f} %" for label, own in rows]
        lines.append(f"  {'whole turn (Bot.reply)':<46} {total / self.turns * 1e6:8.1f} µs")
        return "\n".join(lines)


def profile_turn(n: int = 1500, cprofile: bool = False) -> None:
    """Where a turn's time goes, in this process, with the server's own state (SQLite store,
    turn log, metrics): what a /api/chat request costs apart from HTTP. Prints Bot.reply's
    median and p99, then the mean time of each part of a turn over other distinct questions,
    and with `cprofile` cProfile's view of a third set."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(RATE_LIMIT_PER_MINUTE="0", BOT_DB=f"{tmp}/bot.sqlite3")
        from bot import conversation
        from bot.app import AppState
        from bot.operations.settings import Settings
        from bot.understanding.model import IntentModel

        # The state server.create_app builds (its per-turn log line goes to stderr here, to a file
        # in the table's runs), frozen as server.py freezes the served app's.
        state = AppState.create(Settings.from_env())
        gc.freeze()
        texts = questions(50 + 3 * n)  # all different: the match cache never answers
        bot = state.bot
        for q in texts[:50]:
            bot.reply(q)
        ms = []
        with GcPauses() as pauses:
            for q in texts[50 : 50 + n]:
                started = time.perf_counter()
                bot.reply(q)
                ms.append((time.perf_counter() - started) * 1000)
        print(f"Bot.reply in process, {n} distinct questions: median {statistics.median(ms):.3f} ms, "
              f"mean {statistics.mean(ms):.3f} ms, p99 {percentile(ms, 99):.3f} ms")
        print(f"garbage collections by generation {pauses.count}, longest pause by generation (ms) "
              f"{[round(x * 1000, 2) for x in pauses.longest]}, {gc.get_freeze_count()} objects frozen")

        stages = Stages()
        matcher = bot.core.matcher
        labels = [label for label, _ in Stages.PARTS]
        stages.wrap(matcher._analyzer, "features", labels[0])
        stages.wrap(matcher, "_find", labels[1])
        stages.wrap(matcher._lexical, "scores", labels[2])
        stages.wrap(IntentModel, "proba", labels[3])
        stages.wrap(matcher, "_match_cached", labels[4])
        stages.wrap(conversation, "step", labels[5])
        for name in ("load", "save"):
            stages.wrap(bot.store, name, labels[6])
        stages.wrap(bot, "_on_turn", labels[7])
        stages.wrap(bot, "reply", labels[8])
        for q in texts[50 + n : 50 + 2 * n]:
            bot.reply(q)
            stages.turns += 1
        print(f"where a turn's time goes (mean over {n} other distinct questions):")
        print(stages.table())
        if cprofile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for q in texts[50 + 2 * n :]:
                bot.reply(q)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        state.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-requests", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=30_000,
                        help="how many different questions to cycle through (default: all different)")
    parser.add_argument("--profile-turn", action="store_true",
                        help="only time Bot.reply in process, and print where a turn's time goes")
    parser.add_argument("--cprofile", action="store_true", help="with --profile-turn: add cProfile's view")
    parser.add_argument("--turns", type=int, default=1500,
                        help="with --profile-turn: distinct questions timed (10,000 meet a full collection)")
    args = parser.parse_args()
    if args.profile_turn:
        profile_turn(args.turns, args.cprofile)
        return
    feeds = {"bot": Feed(args.distinct), "bare": Feed(args.distinct)}
    print(f"bench_http: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"{CONCURRENCY} connections, {args.rounds} x {args.seconds:.0f} s rounds, "
          f"{len(feeds['bot'])} distinct questions")
    with tempfile.TemporaryDirectory() as tmp:
        bot = Server("bot", "server:app", {"RATE_LIMIT_PER_MINUTE": "0", "BOT_DB": f"{tmp}/bot.sqlite3"}, ROOT,
                     Path(tmp) / "bot.log")
        bare = Server("bare", "bench_http:bare_app", {}, ROOT / "bench", Path(tmp) / "bare.log")
        try:
            results: dict[str, dict[str, Any]] = {s.name: {"rps": [], "bad": 0} for s in (bot, bare)}
            for server in (bot, bare):  # warm-up: the first requests load lazily built parts
                asyncio.run(latency(server.port, feeds[server.name], 100))
            for _ in range(args.rounds):
                for server in (bot, bare):
                    rps, bad = asyncio.run(throughput(server.port, feeds[server.name], args.seconds))
                    results[server.name]["rps"].append(rps)
                    results[server.name]["bad"] += bad
            for server in (bot, bare):
                ms, bad = asyncio.run(latency(server.port, feeds[server.name], args.latency_requests))
                results[server.name].update(ms=ms, rss=server.rss_mb(), cold=server.cold_start_s,
                                            rss_file=server.rss_mb("RssFile"), rss_anon=server.rss_mb("RssAnon"))
                results[server.name]["bad"] += bad
        finally:
            bot.stop()
            bare.stop()

    b, f = results["bot"], results["bare"]
    ratio = max(b["rps"]) / max(f["rps"])

    def row(name: str, r: dict[str, Any]) -> str:
        rounds = ", ".join(f"{x:.0f}" for x in r["rps"])
        return (f"{name:<6} {max(r['rps']):>9.0f} ({rounds:<13}) {statistics.median(r['ms']):>8.2f} "
                f"{percentile(r['ms'], 99):>8.2f} {r['cold']:>10.2f} {r['rss']:>8.0f} {r['bad']:>6}")

    print(f"{'':<6} {'req/s':>9} {'(rounds)':<15} {'p50 ms':>8} {'p99 ms':>8} {'cold s':>10} {'RSS MB':>8} {'non-200':>6}")
    print(row("bot", b))
    print(row("bare", f))
    checks = [
        ("throughput bot/bare", f"{ratio:.2f}", ratio >= 0.4, "≥ 0.4"),
        ("latency p99", f"{percentile(b['ms'], 99):.2f} ms", percentile(b["ms"], 99) <= 2.0, "≤ 2 ms"),
        ("cold start", f"{b['cold']:.2f} s", b["cold"] <= 2.0, "≤ 2 s"),
        ("memory after run", f"{b['rss']:.0f} MB", b["rss"] <= 400,
         f"≤ 400 MB  (mapped files {b['rss_file']:.0f} MB, heap {b['rss_anon']:.0f} MB)"),
        ("non-200 answers", str(b["bad"] + f["bad"]), b["bad"] + f["bad"] == 0, "0"),
    ]
    for name, value, ok, target in checks:
        print(f"  {name:<22} {value:>10}   {'ok    ' if ok else 'MISSED'}  target {target}")


if __name__ == "__main__":
    main()
