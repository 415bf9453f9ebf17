"""The tests' live servers: real uvicorn processes on 127.0.0.1, forked from one that has already
imported the bot and loaded its intents, knowledge and matcher.

`python -m uvicorn server:app` spends about 1.5 s of CPU before it answers (imports 0.9 s, loading
the matcher 0.5 s), and the tests start some 25 servers. multiprocessing's forkserver imports this
module once per test worker; each server is then a fork of it that reads its settings from its
own environment, builds its app with `server.serving_app` as `server:app` does, and runs uvicorn:
a start costs about 0.2 s. Each server is still a process of its own, stopped with SIGTERM (its
lifespan shutdown runs) or killed; `make run` and the benchmarks start the real command line.

The forkserver process imports modules only: it starts no thread, so forking it is safe.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from pathlib import Path

import uvicorn

import server
from bot.engine import Core
from bot.operations.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

_DEFAULTS = Settings.from_env()
_CORE = Core.load(_DEFAULTS)
_IMPORTED_IN = os.getpid()


def _serve(env: dict[str, str], port: int, log_path: str) -> None:
    """In the forked process: the environment a command-line server would get, then uvicorn."""
    if os.getpid() == _IMPORTED_IN:
        raise RuntimeError("tests/serving.py was imported here, not in the forkserver: each start loads the bot")
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(ROOT)
    os.environ.update(env)
    settings = Settings.from_env()
    app = server.serving_app(settings, core=_CORE if Core.shares(settings, _DEFAULTS) else None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload([__name__])


def fork_server(env: dict[str, str], port: int, log_path: Path) -> multiprocessing.process.BaseProcess:
    # The forkserver starts with the interpreter's own sys.path (Python 3.11 does not pass it this
    # process's), where this module is not: PYTHONPATH shows it the way, for that start only.
    kept = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), *([kept] if kept else [])])
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if kept is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = kept
    process = _forks.Process(target=_serve, args=(env, port, str(log_path)), name=f"bot-server-{port}", daemon=True)
    process.start()
    return process
