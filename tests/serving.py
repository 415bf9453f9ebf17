"""The tests' live servers: real uvicorn processes on 127.0.0.1, forked from one that has already
imported the bot and loaded its intents, knowledge and matcher (tests/serving_preloaded.py).

`python -m uvicorn server:app` spends about 1.5 s of CPU before it answers (imports 0.9 s, loading
the matcher 0.5 s), and the tests start some 25 servers. multiprocessing's forkserver imports
serving_preloaded once per test worker; each server is then a fork of it that reads its settings
from its own environment, builds its app with `server.serving_app` as `server:app` does, and runs
uvicorn: a start costs about 0.2 s. Each server is still a process of its own, stopped with
SIGTERM (its lifespan shutdown runs) or killed; the test of `make run` and the benchmarks start
the real command line.

This module stays light: the pytest processes that import it never load the bot for it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PRELOADED = "serving_preloaded"

_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload([_PRELOADED])


def _serve(env: dict[str, str], port: int, log_path: str) -> None:
    """In the forked process."""
    import serving_preloaded  # the forkserver's, already loaded

    serving_preloaded.serve(env, port, log_path)


def fork_server(env: dict[str, str], port: int, log_path: Path) -> multiprocessing.process.BaseProcess:
    # The forkserver starts with the interpreter's own sys.path (Python 3.11 does not pass it this
    # process's), where the preloaded module is not: PYTHONPATH shows it the way, for that start only.
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
