"""Shared by the tests: a real bot server (uvicorn in a process of its own) and a real redis-server, on 127.0.0.1,
and apps built in this process for tests that need a differently configured app but no socket."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis

from bot.operations.settings import Settings
from serving import fork_server

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from bot.engine import Core
    from bot.understanding.analyzer import Analyzer

# The bot itself (server, Core, the analyzer: about 1.2 s of imports) is imported by the fixtures
# that use it, not here: pytest-xdist's controller loads this file too, before it starts the
# workers, and runs no test.

ROOT = Path(__file__).resolve().parent.parent

# --doctest-modules imports every module here to look for doctests; serving_preloaded.py has none,
# and importing it loads the whole bot (server, Core.load: 0.5 s a process, more on a fresh clone)
# in every worker, where only the forkserver should.
collect_ignore = ["serving_preloaded.py"]

# httpx builds a TLS context (~50 ms of CPU) for every client it makes; the tests speak plain HTTP
# to 127.0.0.1, so the clients they make take this one instead.
TLS = httpx.create_ssl_context()

# The tests' one-off requests to 127.0.0.1 go through this client: httpx.get() and the like build
# a client, and with it a TLS context, on every call. It behaves as those calls did: no keep-alive
# (each request opens its own connection, so none reaches a restarted server over a stale one)
# and no cookie jar (no request carries what an earlier answer set).
loopback = httpx.Client(verify=TLS, limits=httpx.Limits(max_keepalive_connections=0),
                        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """The bot's own text analysis: its lexicon and the real SudachiPy dictionary."""
    from bot.understanding.analyzer import Analyzer
    from bot.understanding.normalize import Normalizer, load_lexicon
    from bot.understanding.tokenizer import shared_tokenizer

    return Analyzer(Normalizer(load_lexicon(ROOT / "knowledge" / "lexicon.yaml")), shared_tokenizer())


@pytest.fixture(scope="session")
def core() -> Core:
    """The intents, knowledge and matcher, loaded once: immutable, so in-process apps share them."""
    from bot.engine import Core

    return Core.load(Settings.from_env())


@pytest.fixture
def app_factory(tmp_path: Path, core: Core) -> Iterator[Callable[..., TestClient]]:
    """Call with Settings fields to replace; get a TestClient on an app built here by create_app.

    No socket: requests go straight into the app, and its lifespan runs (the state is closed at
    teardown). `client` is the address the app sees the requests come from.
    """
    from fastapi.testclient import TestClient

    from bot.engine import Core
    from server import create_app

    with ExitStack() as stack:
        built = 0

        def make(*, client: tuple[str, int] = ("testclient", 50000), **fields: Any) -> TestClient:
            nonlocal built
            defaults = {"db_path": str(tmp_path / f"app{built}.sqlite3"), "rate_limit_per_minute": 0}
            settings = replace(Settings.from_env(), **{**defaults, **fields})
            built += 1
            app = create_app(settings, core=core if Core.shares(settings, Settings.from_env()) else None)
            return stack.enter_context(TestClient(app, client=client))

        yield make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A bot server process that tests can stop and start again on the same port and database.

    A fork of a process that has the bot loaded already (tests/serving.py), which costs a tenth of
    a `python -m uvicorn server:app` start; what it prints goes to `log`."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.env = env
        db = env.get("BOT_DB")
        self.log = Path(db).with_name(Path(db).stem + "-server.log") if db else Path(tempfile.mkdtemp()) / "server.log"
        self.proc: BaseProcess | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.proc = fork_server({"PORT": str(self.port), "HOST": "127.0.0.1", **self.env}, self.port, self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.is_alive():
                raise RuntimeError(f"server exited with {self.proc.exitcode}: {self._log_tail()}")
            try:
                if loopback.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server did not become healthy in time: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no output)"

    def stop(self) -> None:
        """SIGTERM, as a process manager stops it: uvicorn shuts down and the app's lifespan ends."""
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=10)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    """Call with extra environment to get a started LiveServer; all are stopped at teardown."""
    servers: list[LiveServer] = []

    def make(**env: str) -> LiveServer:
        base = {"BOT_DB": str(tmp_path / f"bot{len(servers)}.sqlite3"), "RATE_LIMIT_PER_MINUTE": "0"}
        server = LiveServer({**base, **env})
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


CITY_ORIGIN = "https://www.city.example"
METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture(scope="session")
def city_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A bot set up as on a city's site (README: Security): only the city's pages may use it,
    and /metrics asks for a token."""
    db = tmp_path_factory.mktemp("city") / "bot.sqlite3"
    live = LiveServer({"BOT_DB": str(db), "RATE_LIMIT_PER_MINUTE": "0", "CORS_ALLOW_ORIGINS": CITY_ORIGIN,
                       "METRICS_TOKEN": METRICS_TOKEN})
    live.start()
    yield live
    live.stop()


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of its own on a free loopback port (skips the test where none is installed)."""
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); RedisStore contract not run")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"redis-server on port {port} did not start") from None
            time.sleep(0.05)
    client.close()
    return proc, url


# xdist hands whole files (--dist loadfile) to its workers in collection order (with
# --no-loadscope-reorder; by default, most tests first), so a long file that came late ran alone
# at the end while the other worker idled. Longest first (as timed in a full run; each of the
# rest takes under 3 s), the rest in their order (stable sort).
_LONGEST_FIRST = (
    "test_widget.py", "test_fuzz.py", "test_line.py", "test_rules_properties.py", "test_ws.py",
    "test_redis_store.py", "test_cli.py", "test_server.py", "test_make_run.py", "test_dialogue.py",
    "test_sessions.py", "test_privacy.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
