"""`make run` stops cleanly: a signal to the make process (or Ctrl-C) ends the server too.

make starts the recipe's shell, and a shell that runs uvicorn as its child leaves it running
when only make is signalled. The recipe execs uvicorn in place of the shell, so make's own
child is the server and make passes the signal on. Real make, real uvicorn, loopback only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _serving(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(("sig", "group"), [(signal.SIGTERM, False), (signal.SIGINT, True)], ids=["kill-make", "ctrl-c"])
def test_a_signal_to_make_stops_the_server(tmp_path: Path, sig: signal.Signals, group: bool) -> None:
    """`kill <make>` signals make alone; Ctrl-C in a terminal signals the whole foreground group."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "BOT_DB": str(tmp_path / "bot.sqlite3"), "SESSION_STORE": "memory"}
    make = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 60
        while not _serving(url):
            assert make.poll() is None, "make run exited before serving"
            assert time.monotonic() < deadline, "make run did not serve within 60 s"
            time.sleep(0.2)
        if group:
            os.killpg(make.pid, sig)
        else:
            os.kill(make.pid, sig)
        make.wait(timeout=20)
        deadline = time.monotonic() + 10
        while _serving(url):
            assert time.monotonic() < deadline, "the server outlived make"
            time.sleep(0.2)
    finally:
        os.killpg(make.pid, signal.SIGKILL) if make.poll() is None else None
        subprocess.run(["pkill", "-f", f"--port {port}"], check=False)
