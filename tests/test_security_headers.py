"""What the bot serves carries nosniff and a referrer policy, and the demo page a content
security policy with no inline script; over real connections to a real server."""

from __future__ import annotations

import re

import pytest

from bot.operations.security_headers import DEMO_PAGE_CSP
from conftest import CITY_ORIGIN, METRICS_TOKEN, ROOT, LiveServer, loopback

STRICT_ENOUGH = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";") if d.strip())}


REQUESTS = [
    ("GET", "/", None),
    ("GET", "/widget.js", None),
    ("GET", "/widget.css", None),
    ("GET", "/demo.js", None),
    ("GET", "/healthz", None),
    ("GET", "/api/welcome", None),
    ("POST", "/api/chat", {"text": "手数料はいくら?"}),
    ("POST", "/api/chat", {"text": ""}),  # 400
    ("POST", "/api/rules/fee", {"reason": "renewal", "padding": "x" * 20_000}),  # 413, from the guard
    ("GET", "/no-such-file.js", None),  # 404
    ("GET", "/metrics", None),  # 401
    ("OPTIONS", "/api/chat", None),  # a CORS preflight, answered by the CORS middleware
]


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS, ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(REQUESTS)])
def test_every_answer_carries_nosniff_and_a_referrer_policy(
    city_server: LiveServer, method: str, path: str, body: object
) -> None:
    headers = {"Origin": CITY_ORIGIN, "Access-Control-Request-Method": "POST"} if method == "OPTIONS" else {}
    response = loopback.request(method, city_server.url + path, json=body, headers=headers)
    assert response.headers["x-content-type-options"] == "nosniff", (response.status_code, response.headers)
    assert response.headers["referrer-policy"] in STRICT_ENOUGH


def test_served_files_have_the_types_nosniff_needs(city_server: LiveServer) -> None:
    for path, media_type in [("/", "text/html"), ("/widget.js", "text/javascript"), ("/demo.js", "text/javascript"),
                             ("/widget.css", "text/css"), ("/demo.css", "text/css")]:
        response = loopback.get(city_server.url + path)
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type + "; charset=utf-8", path


def test_the_demo_page_has_a_policy_without_inline_script(city_server: LiveServer) -> None:
    for path in ("/", "/index.html"):
        response = loopback.get(city_server.url + path)
        assert response.headers["content-security-policy"] == DEMO_PAGE_CSP
    policy = directives(DEMO_PAGE_CSP)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    # ...and the page needs none: no inline script, style element or attribute, or handler.
    page = (ROOT / "web" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"\son[a-z]+=", page) == []


def test_the_metrics_token_is_never_in_an_answer(city_server: LiveServer) -> None:
    scraped = loopback.get(city_server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert METRICS_TOKEN not in scraped.text and METRICS_TOKEN not in str(scraped.headers)
