"""widget.js, widget.css and the demo page with a cache policy a city can rely on: an ETag from the
content and `no-cache` (keep it, but ask before each use), so an upgrade is never served stale."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient

from bot.operations.assets import CACHE_CONTROL, load_assets
from conftest import ROOT, LiveServer, loopback

WEB = ROOT / "web"


def test_widget_files_revalidate_with_their_etag_over_a_real_connection(city_server: LiveServer) -> None:
    for name in ("widget.js", "widget.css"):
        first = loopback.get(f"{city_server.url}/{name}")
        assert first.status_code == 200
        assert first.content == (WEB / name).read_bytes()
        assert first.headers["cache-control"] == CACHE_CONTROL
        etag = first.headers["etag"]
        again = loopback.get(f"{city_server.url}/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and again.headers["cache-control"] == CACHE_CONTROL
        assert again.headers["x-content-type-options"] == "nosniff"
        stale = loopback.get(f"{city_server.url}/{name}", headers={"If-None-Match": '"an-older-release"'})
        assert stale.status_code == 200 and stale.content == first.content


def test_the_etag_is_made_from_the_content_so_every_worker_agrees(app_factory: Callable[..., TestClient]) -> None:
    one, other = app_factory(), app_factory()
    for name in ("widget.js", "widget.css", "index.html", "demo.js", "demo.css"):
        expected = '"' + hashlib.sha256((WEB / name).read_bytes()).hexdigest()[:32] + '"'
        assert one.get(f"/{name}").headers["etag"] == other.get(f"/{name}").headers["etag"] == expected
    assert one.get("/", headers={"If-None-Match": f'W/{one.get("/").headers["etag"]}, "x"'}).status_code == 304


def test_only_files_in_web_are_served(app_factory: Callable[..., TestClient]) -> None:
    client = app_factory()
    assert set(load_assets(WEB)) == {p.name for p in WEB.iterdir() if p.is_file()}
    for path in ("/server.py", "/..%2fserver.py", "/.git", "/README.md", "/web/widget.js"):
        assert client.get(path).status_code == 404, path
