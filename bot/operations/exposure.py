"""Who may reach what: loopback clients, the /metrics rule, and the start-up warning about a
bot that listens beyond loopback while any page may use it."""

from __future__ import annotations

import hmac
import ipaddress

from bot.operations.settings import Settings

METRICS_TOKEN_JA = "メトリクスを見るにはトークンが必要です。(Authorization: Bearer <METRICS_TOKEN> required)"
METRICS_LOOPBACK_JA = ("メトリクスはこのサーバーの中からだけ見られます。"
                       "(metrics answer loopback clients only; set METRICS_TOKEN to scrape from elsewhere)")


def is_loopback(host: str | None) -> bool:
    """Whether an address (or `localhost`) is this machine's loopback.

    >>> [is_loopback(h) for h in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "localhost"]]
    [True, True, True, True, True]
    >>> [is_loopback(h) for h in ["0.0.0.0", "::", "192.0.2.7", "bot.city.example", "testclient", "", None]]
    [False, False, False, False, False, False, False]
    """
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def metrics_refusal(token: str | None, authorization: str | None, client: str | None) -> tuple[int, str, str] | None:
    """None when a request may read /metrics, else (status, code, message) to answer with.

    With a token, only `Authorization: Bearer <token>` may (also from loopback); without one,
    only loopback clients may.

    >>> metrics_refusal(None, None, "127.0.0.1") is None
    True
    >>> metrics_refusal(None, "Bearer anything", "192.0.2.7")[:2]
    (403, 'metrics_loopback_only')
    >>> metrics_refusal("a-long-random-token", "Bearer a-long-random-token", "192.0.2.7") is None
    True
    >>> metrics_refusal("a-long-random-token", "bearer a-long-random-token", "192.0.2.7") is None
    True
    >>> [metrics_refusal("a-long-random-token", h, "127.0.0.1")[:2] for h in [None, "Bearer wrong", "Basic x"]]
    [(401, 'metrics_token_required'), (401, 'metrics_token_required'), (401, 'metrics_token_required')]
    """
    if token is None:
        return None if is_loopback(client) else (403, "metrics_loopback_only", METRICS_LOOPBACK_JA)
    scheme, _, given = (authorization or "").partition(" ")
    # Compare bytes in constant time: the header is the caller's, and may not be ASCII.
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode()):
        return None
    return (401, "metrics_token_required", METRICS_TOKEN_JA)


def start_up_warnings(settings: Settings) -> list[str]:
    """What an operator should hear about at start-up before putting the bot on a public site.

    >>> from dataclasses import replace
    >>> base = Settings.from_env()
    >>> start_up_warnings(replace(base, host="127.0.0.1", cors_allow_origins=("*",)))
    []
    >>> start_up_warnings(replace(base, host="0.0.0.0", cors_allow_origins=("https://city.example",)))
    []
    >>> len(start_up_warnings(replace(base, host="0.0.0.0", cors_allow_origins=("*",))))
    1
    """
    if is_loopback(settings.host) or settings.cors_allow_origins != ("*",):
        return []
    return [f"HOST={settings.host} listens beyond loopback while CORS_ALLOW_ORIGINS=*: any web page can use "
            "this bot from its visitors' browsers (HTTP and /ws). Set CORS_ALLOW_ORIGINS to the sites that embed "
            "the widget, e.g. https://www.city.example (README: Security)."]
