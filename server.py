"""The HTTP and WebSocket front of the bot: FastAPI routes that only translate I/O.

`create_app(settings)` builds an app from the settings it is given, so a test can build as
many differently configured apps in one process as it needs. `uvicorn server:app` serves
the one built from the environment (bot/operations/settings.py), when first asked for:
importing this module builds nothing.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import rules
from bot.app import STORE_RETRY_SECONDS, AppState
from bot.channels.http import (
    API_ERRORS,
    CHAT_ERRORS,
    ChatRequest,
    ChatResponse,
    ExpiryRequest,
    FeeRequest,
    WindowRequest,
)
from bot.channels.line import WEBHOOK_MAX_BODY_BYTES
from bot.engine import Core, InputError
from bot.operations.assets import load_assets
from bot.operations.errors import error_body
from bot.operations.exposure import metrics_refusal, start_up_warnings
from bot.operations.guard import Guard
from bot.operations.origins import AllowedOrigins, WebSocketOrigins
from bot.operations.security_headers import DEMO_PAGE_CSP, SecurityHeaders
from bot.operations.settings import Settings
from bot.stores.sessions import StoreUnavailable

WEB = Path(__file__).resolve().parent / "web"
log = logging.getLogger("bot")


def create_app(settings: Settings, *, core: Core | None = None) -> FastAPI:
    """The bot's app: its state, error handlers, middlewares and routes, all from `settings`.

    `core` (the loaded intents, knowledge and matcher, immutable) may be shared by several
    apps in one process; by default the app loads its own.
    """
    state = AppState.create(settings, core=core)
    for warning in start_up_warnings(settings):
        log.warning(json.dumps({"event": "deployment_warning", "warning": warning}, ensure_ascii=False))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="マイナンバーカード電子証明書チャットボット",
        description="公的個人認証サービス(署名用・利用者証明用電子証明書)についての質問に答えるボットの公開API。",
        version="1.0.0",
        lifespan=lifespan,
    )
    _add_error_handlers(app, state)
    _add_middlewares(app, state)
    _add_routes(app, state)
    # Metrics label requests by these routes only (and two catch-alls), read off the app itself.
    state.routes = frozenset(path for route in app.routes if isinstance(path := getattr(route, "path", None), str)
                             and "{" not in path)
    return app


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status)


def _add_error_handlers(app: FastAPI, state: AppState) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error(400, "invalid_json", "リクエストのJSONが正しくありません。(malformed JSON body)")
        first = problems[0] if problems else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        reason = first.get("msg", "invalid value")
        return error(422, "invalid_request", f"{where} の値が正しくありません。({where}: {reason})", field=where)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own answer to a body it cannot decode (JSON nested past Python's limit).
            return error(400, "invalid_json", "リクエストのJSONが正しくありません。(malformed JSON body)")
        messages = {404: "ページが見つかりません。(not found)", 405: "この方法では利用できません。(method not allowed)"}
        response = error(exc.status_code, f"http_{exc.status_code}", messages.get(exc.status_code, str(exc.detail)))
        response.headers.update(exc.headers or {})  # a 405 must say which methods are allowed (Allow)
        return response

    @app.exception_handler(InputError)
    async def on_input_error(request: Request, exc: InputError) -> JSONResponse:
        return error(exc.status, exc.code, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def on_store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        response = error(503, "store_unavailable", state.store_unavailable(exc))
        response.headers["Retry-After"] = str(STORE_RETRY_SECONDS)  # the widget retries a 503 by itself
        return response

    @app.exception_handler(rules.RuleInputError)
    async def on_rule_error(request: Request, exc: rules.RuleInputError) -> JSONResponse:
        return error(422, "invalid_rule_input", str(exc), field=exc.field)


def _add_middlewares(app: FastAPI, state: AppState) -> None:
    """The last one added is the outermost: it sees each request first and each response last."""
    max_body_bytes = state.settings.max_body_bytes
    app.add_middleware(
        Guard,
        limit_for=lambda route: WEBHOOK_MAX_BODY_BYTES if route == "/webhook/line" else max_body_bytes,
        route_label=state.route_label,
        allow=state.allow,
        observe=state.observe,
        rate_limited_body=state.rate_limited_body(),
    )
    # The widget is embedded on municipal sites of other origins; it sends no cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(state.settings.cors_allow_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    # Browsers leave WebSockets out of CORS: the same list is checked at the /ws handshake.
    app.add_middleware(WebSocketOrigins, allowed=AllowedOrigins(state.settings.cors_allow_origins))
    app.add_middleware(SecurityHeaders)


def _add_routes(app: FastAPI, state: AppState) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/chat", response_model=ChatResponse, responses=CHAT_ERRORS)
    async def chat(body: ChatRequest) -> dict[str, Any]:
        # A turn is about a millisecond of CPU under the GIL: a worker thread would buy no
        # parallelism and cost a hop each way, so it runs on the event loop.
        return state.bot.reply(body.text, body.session_id, body.municipality, channel="web").as_dict()

    @app.get("/api/welcome", responses=API_ERRORS)
    def welcome(session_id: str | None = None, municipality: str | None = None) -> dict[str, Any]:
        turn = state.bot.welcome(session_id, municipality)
        return {"session_id": turn.session_id, "messages": [m.as_dict() for m in turn.messages]}

    @app.post("/api/rules/expiry", responses=API_ERRORS)
    def rules_expiry(body: ExpiryRequest) -> dict[str, Any]:
        return rules.to_json(rules.expiry(
            body.birth_date, body.issued_on, card_issued_on=body.card_issued_on,
            card_applied_on=body.card_applied_on, previous_expires_on=body.previous_expires_on,
            residence_expires_on=body.residence_expires_on, adult_ward=body.adult_ward,
        ))

    @app.post("/api/rules/renewal-window", responses=API_ERRORS)
    def rules_window(body: WindowRequest) -> dict[str, Any]:
        return rules.to_json(rules.renewal_window(body.expires_on, body.today or state.bot.today()))

    @app.post("/api/rules/fee", responses=API_ERRORS)
    def rules_fee(body: FeeRequest) -> dict[str, Any]:
        return rules.to_json(rules.fee(body.reason))

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        client = request.client.host if request.client else None
        refusal = metrics_refusal(state.settings.metrics_token, request.headers.get("authorization"), client)
        if refusal is not None:
            response = error(*refusal)
            if refusal[0] == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        body, content_type = state.metrics.render()
        return Response(body, media_type=content_type)

    @app.websocket("/ws")
    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        client = ws.client.host if ws.client else "?"
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    # A binary frame (receive_text() would raise KeyError and drop the socket
                    # without a close frame): close this socket only, as "unsupported data".
                    await ws.close(code=1003)
                    return
                assert state.ws is not None  # AppState.create builds it
                await ws.send_text(json.dumps(state.ws.answer(raw, client), ensure_ascii=False))
        except WebSocketDisconnect:
            return

    app.include_router(state.line_router)

    assets = load_assets(WEB)

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        return static("index.html", request)

    @app.get("/{name}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise StarletteHTTPException(404)
        page = {"Content-Security-Policy": DEMO_PAGE_CSP} if name.endswith(".html") else {}
        return asset.response(request.headers.get("if-none-match"), page)


def serving_app(settings: Settings, *, core: Core | None = None) -> FastAPI:
    """The app a server process serves for the rest of its life: `create_app`, and then what
    start-up built (the matcher's index, the knowledge, the app and its routes) is moved out of
    the garbage collector's reach. A full collection then walks only what requests left behind;
    before, one came every ~8,000 distinct questions and stopped every request for ~80 ms
    (bench/README.md). Not in create_app: the tests build many apps in one process, and freezing
    those would keep every test's garbage cycles for the rest of the run."""
    built = create_app(settings, core=core)
    gc.freeze()
    return built


def __getattr__(name: str) -> FastAPI:
    """`server:app`, as `uvicorn server:app` asks for it: built from the environment on first use
    rather than on import, so importing this module for `create_app` (the tests, the benchmarks)
    opens no database and starts no thread."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = serving_app(Settings.from_env())
    globals()["app"] = app  # asked once: later look-ups find it without this function
    return app
