"""The website chat widget (web/), driven in a real Chromium against the real server."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import LiveServer

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
OUT = ROOT / "test-output"
# Chromium's headless shell (Debian's chromium-headless-shell, as Playwright runs headless).
CHROMIUM = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--in-process-gpu",  # one process fewer to start and feed: about 1 s of CPU less over this file
]
STORAGE_KEY = "mnc-chat:v1"

LAUNCHER = ".mnc-launcher"
PANEL = ".mnc-panel"
INPUT = ".mnc-input"
BOT = ".mnc-log .mnc-bot"
USER = ".mnc-log .mnc-user"
ERROR = ".mnc-log .mnc-error"
QUICK = ".mnc-quick-btn"

# A bare page of some other site that embeds the bot with the one documented tag.
# The colour is deliberately too light for white text: the widget must darken it.
EMBED_PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>埋め込みテスト</title></head><body><h1>別の自治体のページ</h1><p>本文</p>
<script src="/widget.js" data-municipality="zama" data-title="テスト用の案内" data-color="#ffd400"></script>
</body></html>"""

NO_WEBSOCKET = "delete window.WebSocket;"
FAILING_WEBSOCKET = """
window.WebSocket = class {
  constructor() {
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      if (this.onerror) this.onerror(new Event("error"));
      if (this.onclose) this.onclose(new CloseEvent("close", {code: 1006}));
    }, 5);
  }
  send() { throw new Error("not open"); }
  close() {}
};
"""

# The connection's states (web/widget-connection.js), as the widget shows them on its host element
# (data-connection), recorded in order: each change's old value, so none is lost when several
# come in one task; the current value is the last.
STATE_LOG = """window.__states = [];
new MutationObserver((records) => records.forEach((r) => window.__states.push(r.oldValue)))
  .observe(document, {attributeFilter: ['data-connection'], attributeOldValue: true, subtree: true});"""
# Fires `online` (the browser is back) the moment the connection is in `backoff`, and says the state
# right after; in http_only, which nothing leaves, it says so at once.
WAKE_IN_BACKOFF = """() => new Promise((resolve) => {
  const host = document.getElementById('mnc-chat');
  const wake = () => {
    const state = host.dataset.connection;
    if (state !== 'backoff' && state !== 'http_only') return false;
    if (state === 'backoff') window.dispatchEvent(new Event('online'));
    resolve(host.dataset.connection);
    return true;
  };
  if (!wake()) new MutationObserver((_, seen) => { if (wake()) seen.disconnect(); })
    .observe(host, {attributeFilter: ['data-connection']});
})"""

# Text of a message bubble without the screen-reader-only hints (「あなた:」, 新しいウィンドウ).
TEXT_OF = """el => { const c = (el.querySelector('.mnc-bubble') || el).cloneNode(true);
  c.querySelectorAll('.mnc-sr').forEach(n => n.remove()); return c.textContent; }"""
SHADOW = "document.getElementById('mnc-chat').shadowRoot"
LATEST_TURN_ONLY = f"""() => {{
    const rows = [...{SHADOW}.querySelectorAll('.mnc-log .mnc-msg')];
    const lastUser = rows.map(r => r.classList.contains('mnc-user')).lastIndexOf(true);
    return rows.every((r, i) => i > lastUser || !r.querySelector('.mnc-quick'));
}}"""
DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
# Chromium's console line for something a page's policy refused (Trusted Types name no "policy").
CSP_REFUSAL = re.compile(r"Content Security Policy|requires 'Trusted(HTML|Script|ScriptURL)' assignment")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Chat:
    """One page with the widget, and what went over its WebSockets."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.sockets = 0
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("websocket", self._watch)
        self.responses: list[Any] = []
        page.on("response", lambda r: self.responses.append(r) if r.url.endswith("/api/chat") else None)
        # What a page's Content-Security-Policy refused (Chromium reports each on the console);
        # the demo page's own policy must refuse nothing the widget does.
        self.csp_refusals: list[str] = []
        page.on("console", lambda m: self.csp_refusals.append(m.text) if CSP_REFUSAL.search(m.text) else None)

    def _watch(self, ws: Any) -> None:
        self.sockets += 1
        ws.on("framesent", lambda data: self.sent.append(json.loads(data)))
        ws.on("framereceived", lambda data: self.received.append(json.loads(data)))

    def open(self) -> None:
        self.page.locator(LAUNCHER).click()
        expect(self.page.locator(BOT).first).to_be_visible()

    def ask(self, text: str) -> str:
        """Send text with Enter and return the text of the first bot message that answers it."""
        before = self.page.locator(BOT).count()
        self.page.locator(INPUT).fill(text)
        self.page.locator(INPUT).press("Enter")
        expect(self.page.locator(USER).last).to_contain_text(text.splitlines()[0])
        expect(self.page.locator(BOT)).not_to_have_count(before)
        return self.text(self.page.locator(BOT).nth(before))

    def text(self, locator: Any) -> str:
        return str(locator.evaluate(TEXT_OF))

    def stored(self) -> dict[str, Any]:
        return json.loads(self.page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')") or "{}")

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.received if f.get("type") == kind]

    def replies(self) -> list[dict[str, Any]]:
        return self.frames("reply")

    def wait_for(self, condition: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            self.page.wait_for_timeout(50)

    def http_replies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.responses if r.ok]

    def state(self) -> str:
        return str(self.page.locator("#mnc-chat").get_attribute("data-connection"))

    def states(self) -> list[str]:
        """Every state the connection has been in since the page loaded (needs STATE_LOG)."""
        return [*self.page.evaluate("window.__states"), self.state()]

    def focused_class(self) -> str:
        return str(self.page.evaluate(f"({SHADOW}.activeElement || {{}}).className || ''"))


@pytest.fixture
def new_chat(browser: Browser) -> Iterator[Callable[..., Chat]]:
    contexts = []
    chats: list[Chat] = []

    def make(url: str, *, width: int = 1280, height: int = 800, init_script: str | None = None) -> Chat:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
        context.set_default_timeout(10_000)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        chat = Chat(context.new_page())
        chats.append(chat)
        if url:
            chat.page.goto(url)
        return chat

    yield make
    for context in contexts:
        context.close()
    assert [e for chat in chats for e in chat.errors] == []
    assert [r for chat in chats for r in chat.csp_refusals] == []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One bot for the tests that only talk to it: each page has its own browser context, so its own
    sessionStorage and session, and the rate limit is off, so no test sees what another left."""
    live = LiveServer({"BOT_DB": str(tmp_path_factory.mktemp("widget") / "bot.sqlite3"), "RATE_LIMIT_PER_MINUTE": "0"})
    live.start()
    yield live
    live.stop()


@pytest.fixture
def own_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A bot of the test's own, for the tests that stop and start it."""
    return server_factory()


def test_ask_see_the_answer_and_tap_a_quick_reply(server: Any, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(server.url + "/")
    page = chat.page
    expect(page.locator(PANEL)).to_be_hidden()
    chat.open()
    # The greeting comes from the server with topic buttons.
    welcome = next(f for f in chat.received if f["type"] == "welcome")
    assert chat.text(page.locator(BOT).first) == welcome["messages"][0]["text"]
    expect(page.locator(QUICK).first).to_be_visible()
    assert page.locator(QUICK).count() >= 2

    # A topic button sends its own text, and the answer replaces the old buttons.
    choice = page.locator(QUICK).first.inner_text()
    page.locator(QUICK).first.click()
    expect(page.locator(USER)).to_have_count(1)
    assert chat.text(page.locator(USER).first) == choice
    expect(page.locator(BOT)).not_to_have_count(1)
    assert [f for f in chat.sent if f["type"] == "message"][-1]["text"] == choice
    # Only the bot's latest turn keeps buttons: none before the last user message.
    assert page.evaluate(LATEST_TURN_ONLY)

    answer = chat.ask("電子証明書の有効期限は何年ですか")
    reply = chat.replies()[-1]
    assert answer == reply["messages"][0]["text"] and answer.strip()
    assert reply["session_id"] == welcome["session_id"] == chat.stored()["sessionId"]
    sent = [f for f in chat.sent if f["type"] == "message"][-1]
    assert sent["text"] == "電子証明書の有効期限は何年ですか" and sent["municipality"] == "zama"
    assert sent["session_id"] == welcome["session_id"]


def test_an_answer_shows_its_official_pages_as_safe_links(server: Any, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(server.url + "/")
    chat.open()
    before = chat.page.locator(BOT).count()
    chat.ask("暗証番号を忘れてしまいました")
    sent = chat.replies()[-1]["messages"][0]["links"]
    assert sent and all(link["url"].startswith("https://") for link in sent)
    anchors = chat.page.locator(BOT).nth(before).locator(".mnc-sources a")
    expect(anchors.first).to_be_visible()
    shown = anchors.evaluate_all("as => as.map(a => [a.href, a.target, a.rel, a.textContent])")
    assert [href for href, *_ in shown] == [link["url"] for link in sent]
    for href, target, rel, text in shown:
        assert href.startswith("https://") and target == "_blank"
        assert "noopener" in rel and "noreferrer" in rel  # the city's page address is not sent to the linked site
        assert text.strip()
    # The links stay with the transcript: a reload shows them again.
    chat.page.reload()  # the panel reopens by itself
    expect(chat.page.locator(f"{BOT} .mnc-sources a").first).to_be_visible()


def test_ime_enter_never_sends_and_shift_enter_is_a_newline(server: Any, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(server.url + "/")
    page = chat.page
    chat.open()
    box = page.locator(INPUT)
    box.fill("まいなんばー")

    def dispatch(script: str) -> None:
        box.evaluate("(el) => {" + script + "}")

    # Chrome and Firefox: the confirming Enter says it is composing, or carries keyCode 229.
    dispatch("el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))")
    dispatch("el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, bubbles: true, cancelable: true}))")
    # Safari: compositionend comes first, then a plain-looking Enter keydown.
    dispatch("""
        el.dispatchEvent(new CompositionEvent('compositionstart', {bubbles: true}));
        el.dispatchEvent(new CompositionEvent('compositionend', {data: 'マイナンバー', bubbles: true}));
        el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 13, bubbles: true, cancelable: true}));
    """)
    # While composing, even a plain Enter keydown is the IME's.
    dispatch("""
        el.dispatchEvent(new CompositionEvent('compositionstart', {bubbles: true}));
        el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 13, bubbles: true, cancelable: true}));
        el.dispatchEvent(new CompositionEvent('compositionend', {data: 'マイナンバー', bubbles: true}));
    """)
    page.wait_for_timeout(200)
    expect(page.locator(USER)).to_have_count(0)
    assert [f for f in chat.sent if f["type"] == "message"] == []
    assert box.input_value() == "まいなんばー"

    # The key is released: the next Enter is the user's, and it sends.
    dispatch("el.dispatchEvent(new KeyboardEvent('keyup', {key: 'Enter', keyCode: 13, bubbles: true}))")
    box.press("Enter")
    expect(page.locator(USER)).to_have_count(1)
    assert chat.text(page.locator(USER).first) == "まいなんばー"
    assert box.input_value() == ""
    expect(page.locator(BOT)).not_to_have_count(1)

    # Shift+Enter inserts a newline; the message keeps it.
    box.type("一行目")
    box.press("Shift+Enter")
    box.type("二行目")
    assert box.input_value() == "一行目\n二行目"
    expect(page.locator(USER)).to_have_count(1)
    box.press("Enter")
    expect(page.locator(USER)).to_have_count(2)
    assert chat.text(page.locator(USER).last) == "一行目\n二行目"
    # Whitespace only is not sent.
    box.fill("   ")
    box.press("Enter")
    page.wait_for_timeout(100)
    expect(page.locator(USER)).to_have_count(2)


def test_markup_in_messages_is_text_and_urls_dates_amounts_are_nodes(
    server: Any, new_chat: Callable[..., Chat]
) -> None:
    chat = new_chat(server.url + "/")
    page = chat.page
    chat.open()
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    chat.ask(evil)
    assert chat.text(page.locator(USER).last) == evil
    assert page.evaluate("window.__xss") is None
    assert page.evaluate(f"{SHADOW}.querySelectorAll('img, script, iframe').length") == 0

    # A bot message with markup, links and dates (served by a stand-in for /api/chat, which the
    # widget uses when it has no socket) is built from text nodes, links and <strong>s.
    bot_text = (
        '<img src=x onerror="window.__xss=3"> 期限は2027年7月15日(令和9年7月15日)、手数料は1,000円です。'
        "令和4年3月31日以前の申請は別です。"
        "詳しくは https://www.example.jp/a?b=1&c=2 をご覧ください。javascript:alert(1) 電話 046-252-8011"
    )
    chat2 = new_chat("", init_script=NO_WEBSOCKET)
    chat2.page.route("**/api/chat", lambda route: route.fulfill(json={
        "session_id": "s-rendering", "intent": None, "confidence": 0.0, "result": None,
        "messages": [{"text": bot_text, "quick_replies": ["<b>太字</b>"]},
                     {"text": "二つ目の吹き出し", "quick_replies": ["もう一つ"]}],
    }))
    chat2.page.goto(server.url + "/")
    chat2.open()
    chat2.ask("表示のテスト")
    page2 = chat2.page
    last = page2.locator(BOT).nth(-2)
    assert chat2.text(last) == bot_text
    assert chat2.text(page2.locator(BOT).last) == "二つ目の吹き出し"
    assert page2.evaluate("window.__xss") is None
    assert page2.evaluate(f"{SHADOW}.querySelectorAll('img, script, b').length") == 0
    strong = last.locator("strong").all_inner_texts()
    assert strong == ["2027年7月15日", "(令和9年7月15日)", "1,000円", "令和4年3月31日"]
    links = last.locator("a")
    assert links.count() == 2
    web = links.first
    assert web.get_attribute("href") == "https://www.example.jp/a?b=1&c=2"
    assert web.get_attribute("target") == "_blank"
    assert web.get_attribute("rel") == "noopener noreferrer"
    assert links.nth(1).get_attribute("href") == "tel:0462528011"
    # Each message of the latest turn keeps its own buttons.
    expect(page2.locator(QUICK)).to_have_text(["<b>太字</b>", "もう一つ"])


def test_reload_keeps_the_conversation_and_new_conversation_starts_fresh(
    server: Any, new_chat: Callable[..., Chat]
) -> None:
    chat = new_chat(server.url + "/")
    page = chat.page
    chat.open()
    chat.ask("電子証明書を更新するには何が必要ですか")
    session = chat.stored()["sessionId"]
    before = page.locator(".mnc-log .mnc-msg").evaluate_all(f"els => els.map({TEXT_OF})")

    welcomes = len(chat.frames("welcome"))
    page.reload()
    expect(page.locator(PANEL)).to_be_visible()  # it was open, so it opens again
    expect(page.locator(".mnc-log .mnc-msg")).to_have_count(len(before))
    assert page.locator(".mnc-log .mnc-msg").evaluate_all(f"els => els.map({TEXT_OF})") == before
    chat.wait_for(lambda: len(chat.frames("welcome")) > welcomes)
    assert [f for f in chat.sent if f["type"] == "hello"][-1]["session_id"] == session
    assert chat.frames("welcome")[-1]["session_id"] == session
    # The welcome on resume does not repeat the greeting.
    page.wait_for_timeout(100)
    expect(page.locator(".mnc-typing")).to_be_hidden()
    expect(page.locator(".mnc-log .mnc-msg")).to_have_count(len(before))
    chat.ask("手数料はかかりますか")
    assert chat.replies()[-1]["session_id"] == session

    page.locator(".mnc-new").click()
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(BOT).first).to_be_visible()
    fresh = chat.stored()["sessionId"]
    assert fresh and fresh != session
    assert all(item["role"] == "bot" for item in chat.stored()["items"])


def test_server_restart_is_survived_with_the_same_session(own_server: LiveServer, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(own_server.url + "/")
    page = chat.page
    chat.open()
    chat.ask("電子証明書の有効期限は何年ですか")
    session = chat.stored()["sessionId"]

    # Down: the widget says so, and a message typed meanwhile waits instead of being lost.
    own_server.stop()
    expect(page.locator(".mnc-status")).to_contain_text("再接続")
    page.locator(INPUT).fill("暗証番号を忘れました")
    page.locator(INPUT).press("Enter")
    expect(page.locator(USER).last).to_contain_text("暗証番号を忘れました")
    expect(page.locator(".mnc-typing")).to_be_visible()
    bots = page.locator(BOT).count()
    own_server.start()
    expect(page.locator(BOT)).not_to_have_count(bots, timeout=20_000)
    expect(page.locator(ERROR)).to_have_count(0)
    assert chat.stored()["sessionId"] == session

    # A restart while connected: the next question is answered in the same conversation,
    # and the socket comes back resuming it.
    sockets = chat.sockets
    own_server.restart()
    answer_seen = page.locator(BOT).count()
    page.locator(INPUT).fill("更新はいつからできますか")
    page.locator(INPUT).press("Enter")
    expect(page.locator(BOT)).not_to_have_count(answer_seen, timeout=20_000)
    assert chat.stored()["sessionId"] == session
    assert {r["session_id"] for r in chat.replies() + chat.http_replies()} == {session}
    chat.wait_for(lambda: chat.sockets > sockets and chat.frames("welcome")[-1]["session_id"] == session, 20)
    hellos = [f for f in chat.sent if f["type"] == "hello"]
    assert chat.sockets > sockets and hellos[-1]["session_id"] == session
    assert [f for f in chat.received if f["type"] == "welcome"][-1]["session_id"] == session
    expect(page.locator(".mnc-status")).to_be_hidden()
    expect(page.locator(ERROR)).to_have_count(0)



def test_falls_back_to_http_when_websockets_are_blocked(server: Any, new_chat: Callable[..., Chat]) -> None:
    ways = {
        "no WebSocket": NO_WEBSOCKET,
        "WebSocket fails to open": FAILING_WEBSOCKET,
        "upgrade accepted, then hung up before the welcome": None,
    }
    for way, init in ways.items():
        chat = new_chat("", init_script=init)
        page = chat.page
        if init is None:
            page.route_web_socket("**/ws", lambda ws: ws.close(code=1011))
        page.goto(server.url + "/")
        chat.open()  # the greeting comes from GET /api/welcome
        answer = chat.ask("電子証明書の有効期限は何年ですか")
        reply = chat.http_replies()[-1]
        assert answer == reply["messages"][0]["text"], way
        assert reply["session_id"] == chat.stored()["sessionId"], way
        assert [f for f in chat.sent if f["type"] == "message"] == [], way
        chat.ask("更新の手続きを教えてください")
        assert chat.http_replies()[-1]["session_id"] == reply["session_id"], way
        expect(page.locator(ERROR)).to_have_count(0)


@pytest.fixture
def site_factory() -> Iterator[Callable[..., str]]:
    """Call to get the URL of a municipal page on another origin (its own port) that embeds the bot
    `server` with one tag; `policy` is the Content-Security-Policy the page is served with."""
    sites: list[http.server.ThreadingHTTPServer] = []

    def make(server: LiveServer, policy: str | None = None) -> str:
        body = EMBED_PAGE.replace('src="/widget.js"', f'src="{server.url}/widget.js"')
        if policy is not None:
            body = body.replace('<link rel="icon" href="data:,">', "")  # the page's own, not the widget's
        encoded = body.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(encoded)))
                if policy is not None:
                    self.send_header("Content-Security-Policy", policy)
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *args: object) -> None:
                pass

        site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        # Polled every 50 ms, not 500: shutdown() at teardown waits for the poll.
        threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        sites.append(site)
        return f"http://127.0.0.1:{site.server_address[1]}/kurashi/mynumber.html"

    yield make
    for site in sites:
        site.shutdown()
        site.server_close()


@pytest.fixture
def other_site(server: LiveServer, site_factory: Callable[..., str]) -> str:
    return site_factory(server)


def test_embeds_on_another_sites_page_with_one_tag(
    server: Any, other_site: str, new_chat: Callable[..., Chat]
) -> None:
    chat = new_chat(other_site)
    page = chat.page
    chat.open()
    expect(page.locator(".mnc-title")).to_have_text("テスト用の案内")
    answer = chat.ask("電子証明書の有効期限は何年ですか")
    assert answer == chat.replies()[-1]["messages"][0]["text"]
    # Everything the widget needs comes from the bot's address, not the page's.
    assert page.evaluate(f"{SHADOW}.querySelector('link').href") == server.url + "/widget.css"
    assert [f for f in chat.sent if f["type"] == "hello"][0]["municipality"] == "zama"


def test_errors_show_a_japanese_message_and_retry(server: Any, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat("", init_script=NO_WEBSOCKET)
    page = chat.page
    page.route("**/api/welcome*", lambda route: route.abort())
    page.goto(server.url + "/")
    page.locator(LAUNCHER).click()
    # No greeting: the panel says why and offers to try again, it is never blank.
    expect(page.locator(ERROR)).to_contain_text("接続できませんでした")
    page.unroute("**/api/welcome*")
    page.locator(".mnc-retry").click()
    expect(page.locator(BOT).first).to_be_visible()
    expect(page.locator(ERROR)).to_have_count(0)

    page.route("**/api/chat", lambda route: route.fulfill(
        status=429, json={"error": {"code": "rate_limited", "message": "too many"}}))
    page.locator(INPUT).fill("手数料はいくらですか")
    page.locator(INPUT).press("Enter")
    expect(page.locator(ERROR)).to_contain_text("少し待ってから")
    retry = page.locator(ERROR).get_by_role("button", name="このメッセージを再送信する")
    expect(retry).to_have_text("再送信")
    page.unroute("**/api/chat")
    bots = page.locator(BOT).count()
    retry.click()
    expect(page.locator(BOT)).not_to_have_count(bots)
    expect(page.locator(ERROR)).to_have_count(0)
    expect(page.locator(USER)).to_have_count(1)  # retried, not duplicated
    assert chat.http_replies()[-1]["messages"][0]["text"] == chat.text(page.locator(BOT).nth(bots))


def test_keyboard_only_accessibility_and_contrast(server: Any, new_chat: Callable[..., Chat]) -> None:
    chat = new_chat("")
    page = chat.page
    page.route(server.url + "/embed-test.html", lambda route: route.fulfill(
        body=EMBED_PAGE, content_type="text/html; charset=utf-8"))
    page.goto(server.url + "/embed-test.html")
    page.keyboard.press("Tab")
    assert "mnc-launcher" in chat.focused_class()
    outline = page.locator(LAUNCHER).evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and float(outline.split()[1][:-2]) >= 2
    page.keyboard.press("Enter")
    expect(page.locator(PANEL)).to_be_visible()
    assert "mnc-input" in chat.focused_class()  # focus moved into the panel
    expect(page.locator(".mnc-title")).to_have_text("テスト用の案内")
    expect(page.locator(BOT).first).to_be_visible()

    # Back from the text box to the greeting's last topic button, and press it.
    page.keyboard.press("Shift+Tab")
    assert "mnc-quick-btn" in chat.focused_class()
    choice = page.locator(QUICK).last.inner_text()
    page.keyboard.press("Enter")
    expect(page.locator(USER)).to_have_count(1)
    assert chat.text(page.locator(USER).last) == choice
    assert "mnc-input" in chat.focused_class()  # focus does not get lost with the buttons

    page.keyboard.type("電子証明書の有効期限は何年ですか")
    page.keyboard.press("Enter")
    expect(page.locator(USER)).to_have_count(2)
    expect(page.locator(".mnc-typing")).to_be_hidden()

    # Every control has a name; the log is a polite live region; the panel is a labelled dialog.
    unnamed = page.evaluate(f"""() => [...{SHADOW}.querySelectorAll('button, textarea, input, a, [tabindex]')]
        .filter(el => !(el.getAttribute('aria-label') || el.textContent).trim()).map(el => el.outerHTML)""")
    assert unnamed == []
    log = page.locator("[role=log]")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("dialog", name="テスト用の案内")).to_be_visible()
    for name in ["送信", "チャットを閉じる", "新しい会話を始める(これまでの会話は消えます)"]:
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name=re.compile("質問を入力"))).to_be_visible()

    # WCAG AA text contrast, with a page colour (#ffd400) far too light for white text.
    pairs = page.evaluate(f"""() => {{
        const root = {SHADOW};
        const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
        const lum = c => {{ const [r, g, b] = c.map(v => {{ v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }});
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; }};
        const bg = el => {{ for (; el; el = el.parentElement || el.getRootNode().host) {{
            const c = getComputedStyle(el).backgroundColor;
            if (!(c.startsWith('rgba') && c.endsWith(', 0)'))) return c; }} return 'rgb(255, 255, 255)'; }};
        return [...root.querySelectorAll('.mnc-title, .mnc-new, .mnc-bubble, .mnc-bubble a, .mnc-quick-btn, .mnc-send, .mnc-privacy')]
          .map(el => {{ const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bg(el)));
            return [el.className || el.tagName, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; }});
    }}""")
    assert len(pairs) >= 6
    low = [(name, round(ratio, 2)) for name, ratio in pairs if ratio < 4.5]
    assert low == []

    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    assert "mnc-launcher" in chat.focused_class()  # focus is back where it started
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")


def test_layout_fits_phone_and_desktop(server: Any, new_chat: Callable[..., Chat]) -> None:
    OUT.mkdir(exist_ok=True)
    for name, width, height in [("phone", 390, 844), ("desktop", 1280, 800)]:
        chat = new_chat(server.url + "/", width=width, height=height)
        page = chat.page
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=str(OUT / f"widget-{name}-closed.png"))
        chat.open()
        chat.ask("https://www.example.jp/a/very/long/address/that/has/to/wrap/instead/of/overflowing/the/panel")
        answer = chat.ask("有効期限が2027年7月15日なら、いつから更新できますか")
        page.wait_for_timeout(300)  # the typing dots fade
        page.screenshot(path=str(OUT / f"widget-{name}-open.png"))
        # Every full date the bot writes is emphasised.
        bubble = page.locator(BOT).nth(-len(chat.replies()[-1]["messages"]))
        emphasised = [t for t in bubble.locator("strong").all_inner_texts() if DATE.fullmatch(t)]
        assert sorted(emphasised) == sorted(DATE.findall(answer)), name
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        box = page.locator(PANEL).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, name
        scroller = page.locator(".mnc-scroll")
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth"), name
        if width < 640:
            assert box["width"] == width and box["height"] == height  # full screen on a phone
            # ...so Tab stays inside it instead of going to the hidden page.
            page.locator(".mnc-send").focus()
            page.keyboard.press("Tab")
            assert "mnc-new" in chat.focused_class()
            page.keyboard.press("Shift+Tab")
            assert "mnc-send" in chat.focused_class()
            expect(page.locator(PANEL)).to_have_attribute("aria-modal", "true")
        else:
            assert box["width"] < width / 2
        # Text enlarged to 200% still reflows without horizontal scrolling.
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth"), name
        page.screenshot(path=str(OUT / f"widget-{name}-200pct.png"))


def host_page_policy(server: Any) -> str:
    """The Content-Security-Policy README gives a city's page that embeds the widget, for this bot."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [line] = [line for line in readme.splitlines() if line.startswith("Content-Security-Policy: ")]
    ws = server.url.replace("http://", "ws://")
    return line.removeprefix("Content-Security-Policy: ").replace("https://BOT-ADDRESS", server.url) \
        .replace("wss://BOT-ADDRESS", ws)


def test_embeds_on_a_page_with_a_strict_content_security_policy(
    server: Any, site_factory: Callable[..., str], new_chat: Callable[..., Chat]
) -> None:
    # README's policy, with Trusted Types enforced on top: the widget never writes HTML from strings.
    policy = host_page_policy(server) + "; require-trusted-types-for 'script'"
    assert "unsafe" not in policy and server.url in policy
    chat = new_chat(site_factory(server, policy))
    page = chat.page
    # The policy is in force: an inline script is refused (by script-src, or earlier by Trusted Types).
    inline = page.evaluate("""() => { try { const s = document.createElement('script');
        s.textContent = 'window.__inline = 1'; document.head.appendChild(s); } catch (e) { return e.name; }
        return String(window.__inline); }""")
    assert inline in ("undefined", "TypeError"), inline
    chat.wait_for(lambda: bool(chat.csp_refusals), 5)  # and reported
    chat.csp_refusals.clear()
    expect(page.locator(LAUNCHER)).to_be_visible()
    assert page.locator(LAUNCHER).evaluate("el => getComputedStyle(el).position") == "fixed"  # its stylesheet loaded
    chat.open()
    assert chat.frames("welcome"), "the greeting came over the WebSocket"
    answer = chat.ask("電子証明書の有効期限は何年ですか")
    assert answer == chat.replies()[-1]["messages"][0]["text"]
    assert chat.http_replies() == []
    assert chat.csp_refusals == []


def test_a_policy_without_the_bots_websocket_address_still_gets_answers_over_http(
    server: Any, site_factory: Callable[..., str], new_chat: Callable[..., Chat]
) -> None:
    """Why README lists wss://: without it the browser refuses the socket, and the widget falls back."""
    ws = server.url.replace("http://", "ws://")
    policy = host_page_policy(server).replace(" " + ws, "")
    assert ws not in policy
    chat = new_chat(site_factory(server, policy))
    page = chat.page
    chat.open()
    answer = chat.ask("電子証明書の有効期限は何年ですか")
    assert answer == chat.http_replies()[-1]["messages"][0]["text"]
    assert chat.frames("welcome") == []
    assert chat.csp_refusals and all("connect-src" in r and ws in r for r in chat.csp_refusals), chat.csp_refusals
    expect(page.locator(ERROR)).to_have_count(0)
    # Refusals are expected here (the fixture checks every other page has none). The widget goes on
    # retrying its socket with backoff: closed first, the page adds none after they are cleared.
    page.close()
    chat.csp_refusals.clear()


def test_the_connection_state_machine_over_a_real_server(
    own_server: LiveServer, site_factory: Callable[..., str], new_chat: Callable[..., Chat]
) -> None:
    """The transitions README's table names, as a real server goes away and comes back."""
    chat = new_chat(own_server.url + "/", init_script=STATE_LOG)
    page = chat.page
    page.wait_for_timeout(300)
    assert chat.state() == "idle" and chat.sockets == 0  # nothing is opened before the panel
    chat.open()
    chat.wait_for(lambda: chat.state() == "open")
    assert chat.states() == ["idle", "connecting", "awaiting_welcome", "open"]
    session = chat.stored()["sessionId"]

    # The server goes away: the open socket drops (backoff, 再接続 shown), and each new socket fails
    # at once (connecting, backoff again, with a longer delay); never http_only, a socket has worked.
    own_server.stop()
    expect(page.locator(".mnc-status")).to_contain_text("再接続")
    chat.wait_for(lambda: chat.states()[4:].count("backoff") >= 2)
    # The browser says it is online again: out of backoff at once, not when the delay is over.
    assert page.evaluate(WAKE_IN_BACKOFF) == "connecting"
    own_server.start()
    chat.wait_for(lambda: chat.state() == "open", 20)
    while_down = chat.states()[3:]
    assert while_down[:2] == ["open", "backoff"] and while_down[-3:] == ["connecting", "awaiting_welcome", "open"]
    assert set(while_down[2:-2]) == {"connecting", "backoff"}, while_down
    assert [f for f in chat.sent if f["type"] == "hello"][-1]["session_id"] == session
    expect(page.locator(".mnc-status")).to_be_hidden()

    # 新しい会話 on an open socket: a fresh one, whose welcome starts the new session.
    before = len(chat.states())
    page.locator(".mnc-new").click()
    chat.wait_for(lambda: chat.states()[before:] == ["connecting", "awaiting_welcome", "open"])
    assert chat.stored()["sessionId"] not in (None, session)

    # A page whose policy refuses the socket (Chromium: error without close): every socket fails,
    # and the fifth failure without one ever working leaves WebSockets alone for the page.
    ws = own_server.url.replace("http://", "ws://")
    blocked = new_chat(site_factory(own_server, host_page_policy(own_server).replace(" " + ws, "")), init_script=STATE_LOG)
    blocked.open()  # the greeting comes over HTTP after the first failure
    while blocked.page.evaluate(WAKE_IN_BACKOFF) == "connecting":
        pass  # each wake is one more socket refused
    assert blocked.states() == ["idle"] + ["connecting", "backoff"] * 4 + ["connecting", "http_only"]
    blocked.page.evaluate("window.dispatchEvent(new Event('online'))")
    assert blocked.state() == "http_only"  # nothing takes `wake` there
    assert blocked.ask("電子証明書の有効期限は何年ですか") == blocked.http_replies()[-1]["messages"][0]["text"]
    assert blocked.sockets == 0 and len(blocked.csp_refusals) == 5
    blocked.csp_refusals.clear()  # expected here; the fixture checks every other page has none

    # Without WebSocket at all there is nothing to try.
    bare = new_chat(own_server.url + "/", init_script=NO_WEBSOCKET + STATE_LOG)
    bare.open()
    assert bare.states() == ["idle", "http_only"]


def widget_parts() -> set[str]:
    """The files widget.js loads: the module it adds to the page and all that one imports."""
    [entry] = re.findall(r'"(widget-[\w-]+\.js)"', (WEB / "widget.js").read_text(encoding="utf-8"))
    parts: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name not in parts:
            parts.add(name)
            todo += re.findall(r'^import .+ from "\./([\w-]+\.js)";$', (WEB / name).read_text(encoding="utf-8"), re.M)
    return parts


def test_every_part_of_the_widget_is_served_like_widget_js(app_factory: Callable[..., TestClient]) -> None:
    """Each file widget.js loads is small, cached safely and, being a module, fetched with CORS.
    (Headers and bodies only: the app in process, no socket; Chromium loads the parts in the tests above.)"""
    city = "https://www.city.example"
    bot = app_factory(cors_allow_origins=(city,))
    parts = widget_parts()
    assert parts == {p.name for p in WEB.glob("widget-*.js")}  # none missing, none left over
    for name in ["widget.js", *sorted(parts)]:
        body = (WEB / name).read_bytes()
        assert body.count(b"\n") <= 400, name
        first = bot.get(f"/{name}", headers={"Origin": city})
        assert first.status_code == 200 and first.content == body, name
        assert first.headers["content-type"].startswith("text/javascript"), name  # or no browser runs a module
        assert first.headers["cache-control"] == "public, no-cache", name
        assert first.headers["access-control-allow-origin"] == city, name
        again = bot.get(f"/{name}", headers={"Origin": city, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.headers["access-control-allow-origin"] == city, name


def test_the_page_api_works_before_the_widget_has_loaded(server: Any, new_chat: Callable[..., Chat]) -> None:
    """MyNumberChat exists as soon as the tag has run; what the page asks before the parts arrive is done then."""
    page_with_call = EMBED_PAGE.replace("</script>", "</script><script>MyNumberChat.open();</script>")
    chat = new_chat("")
    chat.page.route(server.url + "/embed-test.html", lambda route: route.fulfill(
        body=page_with_call, content_type="text/html; charset=utf-8"))
    chat.page.goto(server.url + "/embed-test.html")
    expect(chat.page.locator(PANEL)).to_be_visible()
    expect(chat.page.locator(BOT).first).to_be_visible()
