/*
 * My Number Card e-certificate chat widget.
 *
 * Embed with one tag (everything else is fetched from the same place as this file):
 *   <script src="https://BOT/widget.js" data-municipality="zama"
 *           data-title="マイナンバーカード電子証明書のご案内" data-color="#0b5fa5"></script>
 *
 * The widget lives in a shadow root so that the host page's CSS cannot break it and ours
 * cannot leak into the host page. All text from the user or the bot is inserted as text
 * nodes; nothing is ever parsed as HTML.
 */
(function () {
  "use strict";

  if (window.MyNumberChat) return; // a second copy of the tag must not build a second widget

  var script = document.currentScript || findOwnScript();
  var data = (script && script.dataset) || {};

  var DEFAULT_TITLE = "マイナンバーカード電子証明書のご案内";
  var DEFAULT_COLOR = "#0b5fa5";
  var STORAGE_KEY = "mnc-chat:v1";
  var MAX_STORED_ITEMS = 200;
  var MAX_TEXT_CHARS = 1000;
  var REPLY_TIMEOUT_MS = 20000;
  var HTTP_TIMEOUT_MS = 20000;
  var HELLO_TIMEOUT_MS = 8000;
  var RECONNECT_BASE_MS = 500;
  var RECONNECT_CAP_MS = 30000;
  // A socket that never opened this many times in a row, without ever working, is blocked.
  var BLOCKED_AFTER_FAILURES = 5;
  // While a dropped socket reconnects, a new message waits this long before going over HTTP.
  var HTTP_FALLBACK_WAIT_MS = 1500;
  var HTTP_RETRY_LIMIT = 5;

  var base = baseUrl();
  var apiChatUrl = new URL("api/chat", base).href;
  var apiWelcomeUrl = new URL("api/welcome", base).href;
  var wsUrl = new URL("ws", base).href.replace(/^http/, "ws");
  var cssUrl = new URL("widget.css", base).href;

  var title = (data.title || "").trim() || DEFAULT_TITLE;
  var pageMunicipality = (data.municipality || "").trim() || null;
  var colors = accessibleColors(data.color);

  var MSG = {
    launcher: "チャットで質問する",
    launcherLabel: "チャットを開く: " + title,
    close: "チャットを閉じる",
    newChat: "新しい会話",
    newChatLabel: "新しい会話を始める(これまでの会話は消えます)",
    input: "質問を入力(Enterで送信、Shift+Enterで改行)",
    placeholder: "例: 有効期限はいつまで?",
    send: "送信",
    log: "メッセージ",
    history: "会話の履歴",
    typing: "回答を準備しています",
    you: "あなた",
    bot: "案内",
    retry: "再送信",
    retryLabel: "このメッセージを再送信する",
    retryWelcome: "再接続",
    newWindow: "(新しいウィンドウで開きます)",
    reconnecting: "接続が切れました。再接続しています…",
    privacy: "マイナンバー(個人番号)や暗証番号は入力しないでください。",
    quickReplies: "質問の候補",
    sources: "出典(公式ページ)",
    errNetwork: "通信できませんでした。接続を確認して、もう一度お試しください。",
    errRateLimit: "短い時間に多くのメッセージが送られました。少し待ってから再送信してください。",
    errBadInput: "このメッセージは送信できませんでした。内容を短くするなどして、もう一度お試しください。",
    errServer: "ただいま回答できません。時間をおいて、もう一度お試しください。",
    errTimeout: "回答に時間がかかっています。もう一度お試しください。",
    errWelcome: "チャットに接続できませんでした。通信環境を確認してください。",
  };

  // ---------------------------------------------------------------- state

  var store = loadState();
  var state = {
    sessionId: store.sessionId || null,
    municipality: store.municipality !== undefined ? store.municipality : pageMunicipality,
    items: store.items || [],
    open: !!store.open,
    seq: store.seq || 0,
  };

  var queue = []; // user items waiting to be sent, oldest first
  var inflight = null; // {item, via: "ws" | "http", timer}
  var ws = null; // the current socket, or null
  var wsWelcomed = false; // hello answered on the current socket
  var helloSessionId = null; // the session the current socket's hello asked for
  var wsEverWelcomed = false;
  var wsFailures = 0; // sockets in a row that closed before their welcome
  var wsBlocked = !("WebSocket" in window) || typeof window.WebSocket !== "function";
  var reconnectAttempt = 0;
  var reconnectTimer = null;
  var fallbackTimer = null;
  var greetingPending = false;
  var started = false;

  // ---------------------------------------------------------------- DOM

  var host = document.createElement("div");
  host.id = "mnc-chat";
  host.setAttribute("data-mnc-chat", "");
  var shadow = host.attachShadow({ mode: "open" });

  var css = el("link", { rel: "stylesheet", href: cssUrl });
  var root = el("div", { class: "mnc-root" });
  root.hidden = true; // until the stylesheet arrives, so the page never shows a raw widget
  root.style.setProperty("--mnc-accent", colors.accent);
  root.style.setProperty("--mnc-accent-strong", colors.strong);
  root.style.setProperty("--mnc-accent-soft", colors.soft);
  css.addEventListener("load", function () { root.hidden = false; });
  css.addEventListener("error", function () { root.hidden = false; });

  var launcher = el("button", {
    type: "button", class: "mnc-launcher", "aria-label": MSG.launcherLabel,
    "aria-expanded": "false", "aria-controls": "mnc-panel",
  }, [chatIcon(), el("span", { class: "mnc-launcher-text" }, [MSG.launcher])]);

  var titleEl = el("h2", { class: "mnc-title", id: "mnc-title" }, [title]);
  var newBtn = el("button", { type: "button", class: "mnc-new", "aria-label": MSG.newChatLabel }, [MSG.newChat]);
  var closeBtn = el("button", { type: "button", class: "mnc-close", "aria-label": MSG.close }, [closeIcon()]);
  var statusEl = el("p", { class: "mnc-status", role: "status" });
  statusEl.hidden = true;

  var logEl = el("div", {
    class: "mnc-log", role: "log", "aria-live": "polite", "aria-label": MSG.log,
    "aria-relevant": "additions",
  });
  var typingEl = el("div", { class: "mnc-typing", role: "status" }, [
    el("span", { class: "mnc-dot", "aria-hidden": "true" }),
    el("span", { class: "mnc-dot", "aria-hidden": "true" }),
    el("span", { class: "mnc-dot", "aria-hidden": "true" }),
    el("span", { class: "mnc-sr" }, [MSG.typing]),
  ]);
  typingEl.hidden = true;
  // Focusable so that a keyboard user can scroll a long answer.
  var scroller = el("div", {
    class: "mnc-scroll", tabindex: "0", role: "region", "aria-label": MSG.history,
  }, [logEl, typingEl]);

  var input = el("textarea", {
    class: "mnc-input", rows: "1", maxlength: String(MAX_TEXT_CHARS),
    "aria-label": MSG.input, placeholder: MSG.placeholder, enterkeyhint: "send",
    autocomplete: "off",
  });
  var sendBtn = el("button", { type: "submit", class: "mnc-send", "aria-label": MSG.send }, [MSG.send]);
  var form = el("form", { class: "mnc-composer", novalidate: "" }, [input, sendBtn]);
  var privacy = el("p", { class: "mnc-privacy" }, [MSG.privacy]);

  var panel = el("section", {
    class: "mnc-panel", id: "mnc-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "mnc-title",
  }, [
    el("header", { class: "mnc-header" }, [titleEl, newBtn, closeBtn]),
    statusEl, scroller, form, privacy,
  ]);
  panel.hidden = true;

  root.appendChild(launcher);
  root.appendChild(panel);
  shadow.appendChild(css);
  shadow.appendChild(root);

  // ---------------------------------------------------------------- events

  launcher.addEventListener("click", function () { openPanel(); });
  closeBtn.addEventListener("click", function () { closePanel(); });
  newBtn.addEventListener("click", function () { newConversation(); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      closePanel();
    } else if (e.key === "Tab" && fullScreen()) {
      keepFocusInPanel(e);
    }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    sendFromInput();
  });

  // IME guard. Enter that confirms a Japanese conversion must never send. Chrome/Firefox
  // mark that keydown with isComposing (and keyCode 229); Safari fires compositionend
  // first and then a keydown that no longer says it is composing, so we also remember
  // that a composition has just ended until the key is released (or a moment passes).
  var composing = false;
  var justComposed = false;
  var justComposedTimer = null;
  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () {
    composing = false;
    justComposed = true;
    clearTimeout(justComposedTimer);
    justComposedTimer = setTimeout(function () { justComposed = false; }, 300);
  });
  input.addEventListener("keyup", function () {
    justComposed = false;
    clearTimeout(justComposedTimer);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") return;
    if (e.isComposing || e.keyCode === 229 || composing || justComposed) return;
    if (e.shiftKey) return; // the browser inserts the newline
    e.preventDefault();
    sendFromInput();
  });
  input.addEventListener("input", autoGrow);

  window.addEventListener("online", function () { if (started) reconnectNow(); });
  document.addEventListener("visibilitychange", function () {
    if (started && document.visibilityState === "visible" && !ws) reconnectNow();
  });

  // ---------------------------------------------------------------- start

  function mount() {
    document.body.appendChild(host);
    renderAll();
    // Unsent messages from before a reload go out again, in order.
    state.items.forEach(function (item) {
      if (item.role === "user" && item.state === "pending") queue.push(item);
    });
    if (state.open || queue.length) openPanel({ focus: false, restoring: true });
  }


  // ---------------------------------------------------------------- panel

  function openPanel(opts) {
    opts = opts || {};
    panel.hidden = false;
    panel.setAttribute("aria-modal", fullScreen() ? "true" : "false");
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    saveState();
    start();
    scrollToEnd();
    if (opts.focus !== false) input.focus();
  }

  // On a phone the panel covers the page, so Tab must not wander to what is hidden behind it.
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 40rem)") : null;

  function fullScreen() {
    return !!narrow && narrow.matches;
  }

  function keepFocusInPanel(e) {
    var focusable = Array.prototype.filter.call(
      panel.querySelectorAll("button, textarea, [tabindex='0']"),
      function (n) { return !n.disabled && n.offsetParent !== null; }
    );
    if (!focusable.length) return;
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    var active = shadow.activeElement;
    if (e.shiftKey && active === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  function closePanel() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    launcher.focus();
  }

  function start() {
    if (started) {
      pump();
      return;
    }
    started = true;
    if (wsBlocked) ensureGreeting();
    else connect();
    pump();
  }

  function newConversation() {
    queue = [];
    if (inflight) clearTimeout(inflight.timer);
    inflight = null;
    state.items = [];
    state.sessionId = null;
    greetingPending = false;
    saveState();
    renderAll();
    updateTyping();
    if (!started) {
      openPanel();
      return;
    }
    if (ws && !wsBlocked) {
      // A fresh socket says hello without a session, and its welcome starts the new one.
      dropSocket();
      connect();
    } else {
      ensureGreeting();
    }
    input.focus();
  }

  // ---------------------------------------------------------------- sending

  function sendFromInput() {
    var text = input.value;
    if (!text.trim()) {
      input.focus();
      return;
    }
    input.value = "";
    autoGrow();
    sendText(text);
    input.focus();
  }

  function sendText(text) {
    var item = { role: "user", id: nextId(), text: text, state: "pending" };
    addItem(item);
    queue.push(item);
    pump();
  }

  // One message at a time, in order: the dialogue on the server depends on the order.
  function pump() {
    updateTyping();
    if (inflight || !queue.length || !started) return;
    var item = queue[0];
    if (wsReady()) {
      clearTimeout(fallbackTimer);
      fallbackTimer = null;
      sendOverSocket(item);
    } else if (wsBlocked || wsFailures > 0) {
      sendOverHttp(item);
    } else if (!fallbackTimer) {
      // The socket is (re)connecting; give it a moment before taking the HTTP route.
      fallbackTimer = setTimeout(function () {
        fallbackTimer = null;
        if (!inflight && queue.length && !wsReady()) sendOverHttp(queue[0]);
        else pump();
      }, HTTP_FALLBACK_WAIT_MS);
    }
    updateTyping();
  }

  function sendOverSocket(item) {
    queue.shift();
    inflight = { item: item, via: "ws", timer: null };
    inflight.timer = setTimeout(function () {
      if (!inflight || inflight.item !== item) return;
      inflight = null;
      failItem(item, MSG.errTimeout);
      // A socket that stopped answering is not trusted again; start a fresh one.
      dropSocket();
      scheduleReconnect();
      pump();
    }, REPLY_TIMEOUT_MS);
    try {
      ws.send(JSON.stringify({
        type: "message", id: item.id, text: item.text,
        session_id: state.sessionId, municipality: state.municipality,
      }));
    } catch (err) {
      clearTimeout(inflight.timer);
      inflight = null;
      queue.unshift(item);
      dropSocket();
      scheduleReconnect();
      pump();
    }
  }

  function sendOverHttp(item, attempt) {
    attempt = attempt || 0;
    if (queue[0] === item) queue.shift();
    inflight = { item: item, via: "http", timer: null };
    updateTyping();
    var body = { text: item.text, municipality: state.municipality };
    if (state.sessionId) body.session_id = state.sessionId;
    fetchJson(apiChatUrl, { method: "POST", body: JSON.stringify(body) }).then(function (res) {
      if (!inflight || inflight.item !== item) return; // superseded by 新しい会話
      inflight = null;
      if (res.ok) {
        receiveReply(item, res.data);
        // The server is reachable again; if the socket had worked before, try it now.
        if (!ws && wsEverWelcomed && !wsBlocked) reconnectNow();
      } else if (res.transient && attempt < HTTP_RETRY_LIMIT) {
        inflight = { item: item, via: "http", timer: null };
        inflight.timer = setTimeout(function () {
          if (!inflight || inflight.item !== item) return;
          inflight = null;
          if (wsReady()) {
            queue.unshift(item);
            pump();
          } else {
            sendOverHttp(item, attempt + 1);
          }
        }, backoffDelay(attempt + 1));
      } else {
        failItem(item, errorText(res));
      }
      pump();
    });
  }

  function receiveReply(item, reply) {
    if (item) {
      item.state = "sent";
      if (inflight && inflight.item === item) {
        clearTimeout(inflight.timer);
        inflight = null;
      }
    }
    if (reply && typeof reply.session_id === "string") state.sessionId = reply.session_id;
    addBotMessages(reply && reply.messages);
    saveState();
    pump();
  }

  function failItem(item, text) {
    item.state = "failed";
    addItem({ role: "error", id: nextId(), text: text, retry: item.id });
  }

  function retry(errorItem) {
    removeItem(errorItem);
    if (errorItem.retry === "welcome") {
      if (!ws && !wsBlocked) reconnectNow();
      ensureGreeting();
      return;
    }
    var original = findItem(errorItem.retry);
    if (original) {
      original.state = "pending";
      saveState();
      queue.push(original);
      pump();
    }
    input.focus();
  }

  // ---------------------------------------------------------------- WebSocket

  function wsReady() {
    return !!ws && wsWelcomed && ws.readyState === 1;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (wsBlocked || ws) return;
    var sock;
    try {
      sock = new window.WebSocket(wsUrl);
    } catch (err) {
      socketFailed();
      return;
    }
    ws = sock;
    wsWelcomed = false;
    var helloTimer = setTimeout(function () {
      // Some proxies accept the upgrade and then say nothing; treat that as a failure.
      if (ws === sock && !wsWelcomed) {
        dropSocket();
        socketFailed();
      }
    }, HELLO_TIMEOUT_MS);
    sock.onopen = function () {
      if (ws !== sock) return;
      helloSessionId = state.sessionId;
      sock.send(JSON.stringify({
        type: "hello", session_id: state.sessionId, municipality: state.municipality,
      }));
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) return;
      var frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (err) {
        return;
      }
      if (frame && frame.type === "welcome") {
        clearTimeout(helloTimer);
        onWelcome(frame);
      } else {
        onFrame(frame);
      }
    };
    // A failed socket fires error and then close, and whichever comes first handles it. A socket
    // the page's Content-Security-Policy refuses (connect-src without wss:) fires error alone in
    // Chromium: without this the widget would wait for the hello timeout before using HTTP.
    sock.onclose = sock.onerror = function () {
      clearTimeout(helloTimer);
      if (ws !== sock) return;
      var wasWelcomed = wsWelcomed;
      ws = null;
      wsWelcomed = false;
      requeueInflightSocketMessage();
      if (wasWelcomed) {
        showStatus(MSG.reconnecting);
        scheduleReconnect();
        pump();
      } else {
        socketFailed();
      }
    };
  }

  function onWelcome(frame) {
    wsWelcomed = true;
    wsEverWelcomed = true;
    wsFailures = 0;
    reconnectAttempt = 0;
    hideStatus();
    // Message frames name their session, so if an HTTP answer started one while this hello
    // was on its way, that session stays ours rather than the fresh one the hello got.
    var startedMeanwhile = helloSessionId === null && state.sessionId;
    if (typeof frame.session_id === "string" && !startedMeanwhile) state.sessionId = frame.session_id;
    if (!hasConversation()) {
      greetingPending = false;
      removeWelcomeErrors();
      addBotMessages(frame.messages);
    }
    saveState();
    pump();
  }

  function onFrame(frame) {
    if (!frame || !inflight || inflight.via !== "ws") return;
    if (frame.id !== inflight.item.id) return; // a late answer to something already settled
    var item = inflight.item;
    if (frame.type === "reply") {
      receiveReply(item, frame);
    } else if (frame.type === "error") {
      clearTimeout(inflight.timer);
      inflight = null;
      failItem(item, errorText({ status: 400, error: frame.error }));
      pump();
    }
  }

  function socketFailed() {
    ws = null;
    wsWelcomed = false;
    wsFailures += 1;
    if (!wsEverWelcomed && wsFailures >= BLOCKED_AFTER_FAILURES) wsBlocked = true;
    // Without a socket the greeting comes over HTTP, so the panel is never empty.
    if (!hasConversation()) ensureGreeting();
    if (!wsBlocked) scheduleReconnect();
    pump();
  }

  function requeueInflightSocketMessage() {
    if (inflight && inflight.via === "ws") {
      clearTimeout(inflight.timer);
      queue.unshift(inflight.item);
      inflight = null;
    }
  }

  function dropSocket() {
    var sock = ws;
    ws = null;
    wsWelcomed = false;
    requeueInflightSocketMessage();
    if (sock) {
      sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
      try { sock.close(); } catch (err) { /* already closed */ }
    }
  }

  function scheduleReconnect() {
    if (reconnectTimer || wsBlocked) return;
    var delay = backoffDelay(reconnectAttempt);
    reconnectAttempt += 1;
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function reconnectNow() {
    if (ws || wsBlocked) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    reconnectAttempt = 0;
    connect();
  }

  // Exponential, capped, with jitter so that a restarted server is not hit by every
  // open page at the same instant.
  function backoffDelay(attempt) {
    var ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, attempt));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  // ---------------------------------------------------------------- HTTP

  function ensureGreeting() {
    if (hasConversation() || greetingPending) return;
    greetingPending = true;
    updateTyping();
    var url = apiWelcomeUrl + "?" + query({ municipality: state.municipality, session_id: state.sessionId });
    fetchJson(url, { method: "GET" }).then(function (res) {
      if (!greetingPending) return; // a socket welcome or 新しい会話 came first
      greetingPending = false;
      if (hasConversation()) return updateTyping();
      if (res.ok) {
        if (typeof res.data.session_id === "string") state.sessionId = res.data.session_id;
        removeWelcomeErrors();
        addBotMessages(res.data.messages);
        saveState();
      } else if (!hasWelcomeError()) {
        addItem({ role: "error", id: nextId(), text: MSG.errWelcome, retry: "welcome" });
      }
      updateTyping();
    });
  }

  function fetchJson(url, opts) {
    var controller = "AbortController" in window ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, HTTP_TIMEOUT_MS);
    var init = {
      method: opts.method, body: opts.body, credentials: "omit", cache: "no-store",
      headers: opts.body ? { "Content-Type": "application/json" } : {},
    };
    if (controller) init.signal = controller.signal;
    return fetch(url, init).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (json) {
        var transient = resp.status === 502 || resp.status === 503 || resp.status === 504;
        if (resp.ok && json) return { ok: true, status: resp.status, data: json };
        return { ok: false, status: resp.status, transient: transient, error: json && json.error };
      });
    }, function () {
      return { ok: false, status: 0, transient: true };
    }).then(function (res) {
      clearTimeout(timer);
      return res;
    });
  }

  function errorText(res) {
    var code = res.error && res.error.code;
    if (res.status === 429 || code === "rate_limited") return MSG.errRateLimit;
    if (res.status === 0 || res.transient) return MSG.errNetwork;
    if (res.status >= 500) return MSG.errServer;
    return MSG.errBadInput;
  }

  // ---------------------------------------------------------------- transcript

  function hasConversation() {
    return state.items.some(function (item) { return item.role !== "error"; });
  }

  function hasWelcomeError() {
    return state.items.some(function (item) { return item.retry === "welcome"; });
  }

  function removeWelcomeErrors() {
    state.items.filter(function (item) { return item.retry === "welcome"; }).forEach(removeItem);
  }

  function addBotMessages(messages) {
    if (!Array.isArray(messages)) return;
    var first = null;
    messages.forEach(function (msg) {
      if (!msg || typeof msg.text !== "string") return;
      var replies = Array.isArray(msg.quick_replies)
        ? msg.quick_replies.filter(function (r) { return typeof r === "string" && r.trim(); })
        : [];
      var node = addItem({ role: "bot", id: nextId(), text: msg.text, quick_replies: replies,
                           links: safeLinks(msg.links) }, true);
      if (!first) first = node;
    });
    // Show the start of a long answer rather than its end.
    if (first) scroller.scrollTop = Math.max(0, first.offsetTop - 8); // the scroller is positioned
  }

  function addItem(item, keepScroll) {
    state.items.push(item);
    if (state.items.length > MAX_STORED_ITEMS) state.items.splice(0, state.items.length - MAX_STORED_ITEMS);
    saveState();
    // Quick replies belong to the bot's latest turn (all its messages); anything else ends it.
    if (item.role !== "bot") removeQuickReplies();
    var node = renderItem(item, true);
    logEl.appendChild(node);
    if (!keepScroll) scrollToEnd();
    return node;
  }

  function removeItem(item) {
    var i = state.items.indexOf(item);
    if (i >= 0) state.items.splice(i, 1);
    saveState();
    var node = logEl.querySelector('[data-id="' + cssEscape(item.id) + '"]');
    if (node) node.remove();
  }

  function findItem(id) {
    for (var i = 0; i < state.items.length; i++) if (state.items[i].id === id) return state.items[i];
    return null;
  }

  function renderAll() {
    while (logEl.firstChild) logEl.removeChild(logEl.firstChild);
    var turnStart = state.items.length;
    while (turnStart > 0 && state.items[turnStart - 1].role === "bot") turnStart -= 1;
    state.items.forEach(function (item, i) {
      logEl.appendChild(renderItem(item, i >= turnStart));
    });
  }

  function renderItem(item, inLatestTurn) {
    var bubble = el("div", { class: "mnc-bubble" });
    var row = el("div", { class: "mnc-msg mnc-" + item.role, "data-id": item.id }, [
      el("span", { class: "mnc-sr" }, [item.role === "user" ? MSG.you + ": " : MSG.bot + ": "]),
      bubble,
    ]);
    if (item.role === "user") {
      bubble.appendChild(document.createTextNode(item.text));
    } else {
      appendRichText(bubble, item.text);
    }
    if (item.role === "error") {
      var retryBtn = el("button", {
        type: "button", class: "mnc-retry",
        "aria-label": item.retry === "welcome" ? MSG.retryWelcome : MSG.retryLabel,
      }, [item.retry === "welcome" ? MSG.retryWelcome : MSG.retry]);
      retryBtn.addEventListener("click", function () { retry(item); });
      row.appendChild(retryBtn);
    }
    if (item.role === "bot" && item.links && item.links.length) row.appendChild(renderSources(item.links));
    if (item.role === "bot" && inLatestTurn && item.quick_replies && item.quick_replies.length) {
      row.appendChild(renderQuickReplies(item.quick_replies));
    }
    return row;
  }

  // The official pages an answer rests on: https addresses only, whatever the server sent.
  function safeLinks(links) {
    if (!Array.isArray(links)) return [];
    return links.filter(function (l) {
      return l && typeof l.title === "string" && typeof l.url === "string" && /^https:\/\/[^\s"<>]+$/.test(l.url);
    }).slice(0, 3);
  }

  function renderSources(links) {
    var box = el("div", { class: "mnc-sources" }, [el("span", { class: "mnc-sources-label" }, [MSG.sources])]);
    var list = el("ul", { class: "mnc-sources-list" });
    safeLinks(links).forEach(function (l) {
      list.appendChild(el("li", {}, [link(l.url, l.title, true)]));
    });
    box.appendChild(list);
    return box;
  }

  function renderQuickReplies(replies) {
    var group = el("div", { class: "mnc-quick", role: "group", "aria-label": MSG.quickReplies });
    replies.forEach(function (text) {
      var btn = el("button", { type: "button", class: "mnc-quick-btn", "aria-label": text }, [text]);
      btn.addEventListener("click", function () {
        sendText(text);
        input.focus();
      });
      group.appendChild(btn);
    });
    return group;
  }

  function removeQuickReplies() {
    var hadFocus = shadow.activeElement && shadow.activeElement.classList.contains("mnc-quick-btn");
    Array.prototype.forEach.call(logEl.querySelectorAll(".mnc-quick"), function (n) { n.remove(); });
    if (hadFocus) input.focus();
  }

  // Dates, amounts, URLs and phone numbers made easy to read or use, built as DOM nodes.
  var RICH = new RegExp([
    "(https?:\\/\\/[A-Za-z0-9\\-._~:/?#\\[\\]@!$&*+,;=%]+)",
    "((?:\\d{4}年|(?:令和|平成|昭和)(?:\\d{1,2}|元)年)?\\d{1,2}月\\d{1,2}日(?:[(（][^()（）\\n]{1,20}[)）])?)",
    "((?:\\d{1,3}(?:,\\d{3})+|\\d+)円|無料)",
    "(0\\d{1,4}-\\d{1,4}-\\d{3,4})",
  ].join("|"), "g");

  function appendRichText(parent, text) {
    var last = 0;
    var m;
    RICH.lastIndex = 0;
    while ((m = RICH.exec(text)) !== null) {
      var token = m[0];
      if (m[1]) {
        token = token.replace(/[.,:;!?]+$/, "");
        RICH.lastIndex = m.index + token.length;
      }
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[1]) {
        parent.appendChild(link(token, token, true));
      } else if (m[4]) {
        parent.appendChild(link("tel:" + token.replace(/-/g, ""), token, false));
      } else if (m[2]) {
        // The era in parentheses gets its own node so a narrow screen may wrap before it.
        var era = token.search(/[(（]/);
        parent.appendChild(el("strong", { class: "mnc-date" }, [era < 0 ? token : token.slice(0, era)]));
        if (era >= 0) parent.appendChild(el("strong", { class: "mnc-date mnc-era" }, [token.slice(era)]));
      } else {
        parent.appendChild(el("strong", { class: "mnc-amount" }, [token]));
      }
      last = m.index + token.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function link(href, label, external) {
    var a = document.createElement("a");
    a.href = href;
    a.appendChild(document.createTextNode(label));
    if (external) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", { class: "mnc-sr" }, [MSG.newWindow]));
    }
    return a;
  }

  // ---------------------------------------------------------------- small views

  function updateTyping() {
    var busy = !!inflight || queue.length > 0 || greetingPending || (started && !hasConversation() && !hasWelcomeError());
    if (typingEl.hidden === busy) {
      typingEl.hidden = !busy;
      if (busy) scrollToEnd();
    }
  }

  function showStatus(text) {
    statusEl.textContent = text;
    statusEl.hidden = false;
  }

  function hideStatus() {
    statusEl.textContent = "";
    statusEl.hidden = true;
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  }

  // ---------------------------------------------------------------- storage

  function loadState() {
    try {
      var raw = window.sessionStorage.getItem(STORAGE_KEY);
      var saved = raw ? JSON.parse(raw) : null;
      // A page that now names another municipality starts afresh.
      if (saved && saved.pageMunicipality === pageMunicipality) return saved;
    } catch (err) { /* storage may be disabled; the widget still works for this page */ }
    return {};
  }

  function saveState() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
        sessionId: state.sessionId, municipality: state.municipality,
        pageMunicipality: pageMunicipality, items: state.items, open: state.open, seq: state.seq,
      }));
    } catch (err) { /* quota or disabled storage: keep working without persistence */ }
  }

  function nextId() {
    state.seq += 1;
    return "c" + state.seq + "-" + Math.random().toString(36).slice(2, 8);
  }

  // ---------------------------------------------------------------- helpers

  function findOwnScript() {
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  function baseUrl() {
    var src = (script && script.src) || location.href;
    return new URL("./", src).href;
  }

  function query(params) {
    return Object.keys(params).filter(function (k) { return params[k]; }).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/[^\w-]/g, "\\$&");
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function svg(pathD) {
    var ns = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    icon.setAttribute("class", "mnc-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathD);
    icon.appendChild(path);
    return icon;
  }

  function chatIcon() {
    return svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
  }

  function closeIcon() {
    return svg("M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z");
  }

  // The page owner's colour is kept as the hue, darkened until white text on it and it as
  // text on our light bubbles both reach WCAG AA (4.5:1).
  function accessibleColors(raw) {
    var rgb = parseHex(raw) || parseHex(DEFAULT_COLOR);
    var lightest = [240, 242, 245]; // the bot bubble, the lightest surface accent text sits on
    var guard = 0;
    while (contrast(rgb, lightest) < 4.6 && guard++ < 40) {
      rgb = rgb.map(function (v) { return Math.floor(v * 0.92); });
    }
    var strong = rgb.map(function (v) { return Math.floor(v * 0.8); });
    var soft = rgb.map(function (v) { return Math.round(v * 0.1 + 255 * 0.9); });
    return { accent: hex(rgb), strong: hex(strong), soft: hex(soft) };
  }

  function parseHex(value) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }

  function hex(rgb) {
    return "#" + rgb.map(function (v) { return ("0" + v.toString(16)).slice(-2); }).join("");
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  // ---------------------------------------------------------------- go
  // Last, so that every var above (the text patterns) is set before the first render.

  window.MyNumberChat = {
    open: function () { openPanel(); },
    close: function () { closePanel(); },
    newConversation: function () { newConversation(); },
    setMunicipality: function (code) {
      state.municipality = code ? String(code) : null;
      newConversation();
    },
  };

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
