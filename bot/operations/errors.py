"""The one shape of an error every way in answers with: {"error": {"code", "message"}}.

HTTP routes, the request guard, the origin check, the WebSocket frames and the LINE webhook
all build it here, so that a client reads every refusal the same way (api.md).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["error_body", "error_bytes"]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The body of an error answer; `message` says it in Japanese first.

    >>> error_body("rate_limited", "少し待ってから送ってください。")
    {'error': {'code': 'rate_limited', 'message': '少し待ってから送ってください。'}}
    """
    return {"error": {"code": code, "message": message, **extra}}


def error_bytes(code: str, message: str, **extra: Any) -> bytes:
    """The same body as JSON bytes, for the ASGI layers that send raw answers."""
    return json.dumps(error_body(code, message, **extra), ensure_ascii=False).encode()
