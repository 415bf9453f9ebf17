"""The widget and the demo page (web/), read once at start-up and served with an ETag.

Cache policy: `Cache-Control: public, no-cache` with a strong ETag made from the content. Any
cache (the browser, a city's proxy or CDN) may keep a copy but asks before each use
(`If-None-Match`) and gets a 304 of no body while the file is unchanged; after an upgrade the
next page view gets the new file. The embed tag's URL (/widget.js) stays the same across
versions, so a city never edits its pages, and the ETag, unlike one made from a file's
modification time, is the same on every worker and machine serving the same release.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi.responses import Response

CACHE_CONTROL = "public, no-cache"
# Explicit, not mimetypes: that one reads the machine's own tables, and nosniff makes the type count.
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str  # quoted, as sent

    def response(self, if_none_match: str | None, headers: dict[str, str] | None = None) -> Response:
        """The file, or 304 when the client's copy (If-None-Match) is this one."""
        all_headers = {"ETag": self.etag, "Cache-Control": CACHE_CONTROL, **(headers or {})}
        if if_none_match is not None and _matches(if_none_match, self.etag):
            return Response(status_code=304, headers=all_headers)
        return Response(self.body, media_type=self.media_type, headers=all_headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2).

    >>> [_matches(h, '"abc"') for h in ['"abc"', 'W/"abc"', '"x", "abc"', '*', '"abcd"', '']]
    [True, True, True, True, False, False]
    """
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def load_assets(folder: Path) -> dict[str, Asset]:
    """Every file directly in `folder`, by name."""
    assets = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        assets[path.name] = Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return assets
