"""What the tests' forkserver loads once, so that each live server forked from it starts at once
(tests/serving.py). It imports modules and loads data only: no thread, so forking it is safe."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

import server
from bot.engine import Core
from bot.operations.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

_DEFAULTS = Settings.from_env()
_CORE = Core.load(_DEFAULTS)
_LOADED_IN = os.getpid()


def serve(env: dict[str, str], port: int, log_path: str) -> None:
    """In a forked process: the environment a command-line server would get, then uvicorn."""
    if os.getpid() == _LOADED_IN:
        raise RuntimeError("tests/serving_preloaded.py was loaded here, not in the forkserver: each start loads the bot")
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(ROOT)
    os.environ.update(env)
    settings = Settings.from_env()
    app = server.serving_app(settings, core=_CORE if Core.shares(settings, _DEFAULTS) else None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
