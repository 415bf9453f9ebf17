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
 *
 * Its parts, in order: the words it shows, DOM helpers, the stored conversation, HTTP, the
 * frame (launcher and panel), the transcript, the text box, the connection state machine,
 * the outbox, and what ties them together.
 */
(function () {
  "use strict";

  if (window.MyNumberChat) return; // a second copy of the tag must not build a second widget

  const script = document.currentScript || findOwnScript();

  function findOwnScript() {
    const scripts = document.querySelectorAll("script[src]");
    for (let i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  // ------------------------------------------------------------ text

  // Every word the widget shows, in one place.

  const DEFAULT_TITLE = "マイナンバーカード電子証明書のご案内";

  const MSG = {
    launcher: "チャットで質問する",
    launcherLabel: "チャットを開く: ", // + the title
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

  // ------------------------------------------------------------ dom

  // Building DOM nodes. Text always goes in as text nodes: nothing is ever parsed as HTML.

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => node.setAttribute(k, attrs[k]));
    (children || []).forEach((c) => {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/[^\w-]/g, "\\$&");
  }

  function chatIcon() {
    return svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
  }

  function closeIcon() {
    return svg("M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z");
  }

  function svg(pathD) {
    const ns = "http://www.w3.org/2000/svg";
    const icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    icon.setAttribute("class", "mnc-icon");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathD);
    icon.appendChild(path);
    return icon;
  }

  // ------------------------------------------------------------ storage

  // The conversation kept in the tab's sessionStorage: the session id and the visible
  // transcript (with the messages not yet answered), so a reload keeps it and closing the tab
  // ends it.

  const STORAGE_KEY = "mnc-chat:v1";
  const MAX_STORED_ITEMS = 200;

  // What the widget remembers. `items` are the transcript: {role: "user" | "bot" | "error", id,
  // text, ...}; a user item's `state` is "pending" until answered, then "sent" or "failed".
  function loadConversation(pageMunicipality) {
    const saved = read(pageMunicipality);
    const conversation = {
      sessionId: saved.sessionId || null,
      municipality: saved.municipality !== undefined ? saved.municipality : pageMunicipality,
      items: saved.items || [],
      open: !!saved.open,
      seq: saved.seq || 0,
      save() {
        if (conversation.items.length > MAX_STORED_ITEMS) {
          conversation.items.splice(0, conversation.items.length - MAX_STORED_ITEMS);
        }
        write(conversation, pageMunicipality);
      },
      nextId() {
        conversation.seq += 1;
        return "c" + conversation.seq + "-" + Math.random().toString(36).slice(2, 8);
      },
    };
    return conversation;
  }

  function read(pageMunicipality) {
    try {
      const raw = window.sessionStorage.getItem(STORAGE_KEY);
      const saved = raw ? JSON.parse(raw) : null;
      // A page that now names another municipality starts afresh.
      if (saved && saved.pageMunicipality === pageMunicipality) return saved;
    } catch (err) { /* storage may be disabled; the widget still works for this page */ }
    return {};
  }

  function write(c, pageMunicipality) {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
        sessionId: c.sessionId, municipality: c.municipality, pageMunicipality: pageMunicipality,
        items: c.items, open: c.open, seq: c.seq,
      }));
    } catch (err) { /* quota or disabled storage: keep working without persistence */ }
  }

  // ------------------------------------------------------------ http

  // The HTTP side of the bot (GET /api/welcome, POST /api/chat): JSON in and out, no cookies,
  // nothing cached, a time limit, and every outcome a plain result instead of an exception.

  const HTTP_TIMEOUT_MS = 20000;

  // Resolves to {ok: true, status, data} or {ok: false, status, transient, error}; status 0 is
  // no answer at all (network, CORS, timeout). Transient failures are worth trying again.
  function fetchJson(url, opts) {
    const controller = "AbortController" in window ? new AbortController() : null;
    const timer = setTimeout(() => { if (controller) controller.abort(); }, HTTP_TIMEOUT_MS);
    const init = {
      method: opts.method, body: opts.body, credentials: "omit", cache: "no-store",
      headers: opts.body ? { "Content-Type": "application/json" } : {},
    };
    if (controller) init.signal = controller.signal;
    return fetch(url, init).then((resp) => resp.json().catch(() => null).then((json) => {
      const transient = resp.status === 502 || resp.status === 503 || resp.status === 504;
      if (resp.ok && json) return { ok: true, status: resp.status, data: json };
      return { ok: false, status: resp.status, transient: transient, error: json && json.error };
    }), () => ({ ok: false, status: 0, transient: true })).then((res) => {
      clearTimeout(timer);
      return res;
    });
  }

  // "a=1&b=2" of the parameters that have a value.
  function query(params) {
    return Object.keys(params).filter((k) => params[k]).map((k) => (
      encodeURIComponent(k) + "=" + encodeURIComponent(params[k])
    )).join("&");
  }

  // ------------------------------------------------------------ view

  // The widget's frame: a shadow root on <div id="mnc-chat"> with the launcher and the panel
  // (header, status line, scrolling log, composer), the page owner's colour made accessible,
  // and the panel's opening, closing and focus handling. What goes into the log is the
  // transcript's; what the text box does is the composer's.

  const DEFAULT_COLOR = "#0b5fa5";
  const MAX_TEXT_CHARS = 1000;

  // `on` says what the launcher, ×, 新しい会話 and Escape do: {open, close, newConversation}.
  function createView({ title, color, cssUrl, on }) {
    const host = el("div", { id: "mnc-chat", "data-mnc-chat": "" });
    const shadow = host.attachShadow({ mode: "open" });

    const css = el("link", { rel: "stylesheet", href: cssUrl });
    const root = el("div", { class: "mnc-root" });
    root.hidden = true; // until the stylesheet arrives, so the page never shows a raw widget
    const colors = accessibleColors(color);
    // Through the CSSOM, which a host page's CSP (style-src without 'unsafe-inline') allows.
    root.style.setProperty("--mnc-accent", colors.accent);
    root.style.setProperty("--mnc-accent-strong", colors.strong);
    root.style.setProperty("--mnc-accent-soft", colors.soft);
    css.addEventListener("load", () => { root.hidden = false; });
    css.addEventListener("error", () => { root.hidden = false; });

    const launcher = el("button", {
      type: "button", class: "mnc-launcher", "aria-label": MSG.launcherLabel + title,
      "aria-expanded": "false", "aria-controls": "mnc-panel",
    }, [chatIcon(), el("span", { class: "mnc-launcher-text" }, [MSG.launcher])]);

    const titleEl = el("h2", { class: "mnc-title", id: "mnc-title" }, [title]);
    const newButton = el("button", { type: "button", class: "mnc-new", "aria-label": MSG.newChatLabel }, [MSG.newChat]);
    const closeButton = el("button", { type: "button", class: "mnc-close", "aria-label": MSG.close }, [closeIcon()]);
    const statusEl = el("p", { class: "mnc-status", role: "status" });
    statusEl.hidden = true;

    const log = el("div", {
      class: "mnc-log", role: "log", "aria-live": "polite", "aria-label": MSG.log,
      "aria-relevant": "additions",
    });
    const typing = el("div", { class: "mnc-typing", role: "status" }, [
      el("span", { class: "mnc-dot", "aria-hidden": "true" }),
      el("span", { class: "mnc-dot", "aria-hidden": "true" }),
      el("span", { class: "mnc-dot", "aria-hidden": "true" }),
      el("span", { class: "mnc-sr" }, [MSG.typing]),
    ]);
    typing.hidden = true;
    // Focusable so that a keyboard user can scroll a long answer.
    const scroller = el("div", {
      class: "mnc-scroll", tabindex: "0", role: "region", "aria-label": MSG.history,
    }, [log, typing]);

    const input = el("textarea", {
      class: "mnc-input", rows: "1", maxlength: String(MAX_TEXT_CHARS),
      "aria-label": MSG.input, placeholder: MSG.placeholder, enterkeyhint: "send",
      autocomplete: "off",
    });
    const sendButton = el("button", { type: "submit", class: "mnc-send", "aria-label": MSG.send }, [MSG.send]);
    const form = el("form", { class: "mnc-composer", novalidate: "" }, [input, sendButton]);
    const privacy = el("p", { class: "mnc-privacy" }, [MSG.privacy]);

    const panel = el("section", {
      class: "mnc-panel", id: "mnc-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "mnc-title",
    }, [
      el("header", { class: "mnc-header" }, [titleEl, newButton, closeButton]),
      statusEl, scroller, form, privacy,
    ]);
    panel.hidden = true;

    root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(css);
    shadow.appendChild(root);

    // On a phone the panel covers the page, so Tab must not wander to what is hidden behind it.
    const narrow = window.matchMedia ? window.matchMedia("(max-width: 40rem)") : null;
    const fullScreen = () => !!narrow && narrow.matches;

    function keepFocusInPanel(e) {
      const focusable = Array.prototype.filter.call(
        panel.querySelectorAll("button, textarea, [tabindex='0']"),
        (n) => !n.disabled && n.offsetParent !== null
      );
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      const active = shadow.activeElement;
      if (e.shiftKey && active === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && active === last) {
        e.preventDefault();
        first.focus();
      }
    }

    const view = {
      host, shadow, panel, log, scroller, input, form,

      showPanel() {
        panel.hidden = false;
        panel.setAttribute("aria-modal", fullScreen() ? "true" : "false");
        launcher.hidden = true;
        launcher.setAttribute("aria-expanded", "true");
      },

      hidePanel() {
        panel.hidden = true;
        launcher.hidden = false;
        launcher.setAttribute("aria-expanded", "false");
        launcher.focus();
      },

      showStatus(text) {
        statusEl.textContent = text;
        statusEl.hidden = false;
      },

      hideStatus() {
        statusEl.textContent = "";
        statusEl.hidden = true;
      },

      showTyping(busy) {
        if (typing.hidden === busy) {
          typing.hidden = !busy;
          if (busy) view.scrollToEnd();
        }
      },

      scrollToEnd() {
        scroller.scrollTop = scroller.scrollHeight;
      },

      // The connection's state (the state machine below) on the host element, for whoever debugs
      // a page (and for the tests): <div id="mnc-chat" data-connection="open">.
      showConnection(state) {
        host.setAttribute("data-connection", state);
      },
    };

    launcher.addEventListener("click", () => on.open());
    closeButton.addEventListener("click", () => on.close());
    newButton.addEventListener("click", () => on.newConversation());
    panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault(); // Escape that cancels an IME conversion is the IME's
        on.close();
      } else if (e.key === "Tab" && fullScreen()) {
        keepFocusInPanel(e);
      }
    });
    return view;
  }

  // The page owner's colour is kept as the hue, darkened until white text on it and it as
  // text on our light bubbles both reach WCAG AA (4.5:1).
  function accessibleColors(raw) {
    let rgb = parseHex(raw) || parseHex(DEFAULT_COLOR);
    const lightest = [240, 242, 245]; // the bot bubble, the lightest surface accent text sits on
    let guard = 0;
    while (contrast(rgb, lightest) < 4.6 && guard++ < 40) {
      rgb = rgb.map((v) => Math.floor(v * 0.92));
    }
    const strong = rgb.map((v) => Math.floor(v * 0.8));
    const soft = rgb.map((v) => Math.round(v * 0.1 + 255 * 0.9));
    return { accent: hex(rgb), strong: hex(strong), soft: hex(soft) };
  }

  function parseHex(value) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!m) return null;
    const h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }

  function hex(rgb) {
    return "#" + rgb.map((v) => ("0" + v.toString(16)).slice(-2)).join("");
  }

  function luminance(rgb) {
    const c = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    const la = luminance(a);
    const lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  // ------------------------------------------------------------ transcript

  // The conversation as the reader sees it: the items of the stored conversation
  // (storage, above), each drawn as a row in the log. Text is always inserted as text nodes;
  // URLs, phone numbers, dates and amounts become links and <strong>s built as nodes. Quick
  // replies are buttons on the bot's latest turn only; an answer's official pages are listed
  // under it (https only, whatever the server sent).

  const MAX_SOURCES = 3;

  // `onRetry(errorItem)` is the 再送信/再接続 button of an error; `onQuickReply(text)` a topic
  // button; `focusInput()` takes focus back when the button that had it goes away.
  function createTranscript({ conversation, view, onRetry, onQuickReply, focusInput }) {
    const items = () => conversation.items;

    function add(item, keepScroll) {
      items().push(item);
      conversation.save();
      // Quick replies belong to the bot's latest turn (all its messages); anything else ends it.
      if (item.role !== "bot") removeQuickReplies();
      const node = renderItem(item, true);
      view.log.appendChild(node);
      if (!keepScroll) view.scrollToEnd();
      return node;
    }

    function remove(item) {
      const i = items().indexOf(item);
      if (i >= 0) items().splice(i, 1);
      conversation.save();
      const node = view.log.querySelector('[data-id="' + cssEscape(item.id) + '"]');
      if (node) node.remove();
    }

    function addBotMessages(messages) {
      if (!Array.isArray(messages)) return;
      let first = null;
      messages.forEach((msg) => {
        if (!msg || typeof msg.text !== "string") return;
        const replies = Array.isArray(msg.quick_replies)
          ? msg.quick_replies.filter((r) => typeof r === "string" && r.trim())
          : [];
        const node = add({ role: "bot", id: conversation.nextId(), text: msg.text, quick_replies: replies,
                           links: safeLinks(msg.links) }, true);
        if (!first) first = node;
      });
      // Show the start of a long answer rather than its end.
      if (first) view.scroller.scrollTop = Math.max(0, first.offsetTop - 8); // the scroller is positioned
    }

    function renderAll() {
      const log = view.log;
      while (log.firstChild) log.removeChild(log.firstChild);
      let turnStart = items().length;
      while (turnStart > 0 && items()[turnStart - 1].role === "bot") turnStart -= 1;
      items().forEach((item, i) => log.appendChild(renderItem(item, i >= turnStart)));
    }

    function renderItem(item, inLatestTurn) {
      const bubble = el("div", { class: "mnc-bubble" });
      const row = el("div", { class: "mnc-msg mnc-" + item.role, "data-id": item.id }, [
        el("span", { class: "mnc-sr" }, [item.role === "user" ? MSG.you + ": " : MSG.bot + ": "]),
        bubble,
      ]);
      if (item.role === "user") {
        bubble.appendChild(document.createTextNode(item.text));
      } else {
        appendRichText(bubble, item.text);
      }
      if (item.role === "error") {
        const welcome = item.retry === "welcome";
        const retryButton = el("button", {
          type: "button", class: "mnc-retry", "aria-label": welcome ? MSG.retryWelcome : MSG.retryLabel,
        }, [welcome ? MSG.retryWelcome : MSG.retry]);
        retryButton.addEventListener("click", () => onRetry(item));
        row.appendChild(retryButton);
      }
      if (item.role === "bot" && item.links && item.links.length) row.appendChild(renderSources(item.links));
      if (item.role === "bot" && inLatestTurn && item.quick_replies && item.quick_replies.length) {
        row.appendChild(renderQuickReplies(item.quick_replies));
      }
      return row;
    }

    function renderSources(links) {
      const list = el("ul", { class: "mnc-sources-list" });
      safeLinks(links).forEach((l) => list.appendChild(el("li", {}, [link(l.url, l.title, true)])));
      return el("div", { class: "mnc-sources" }, [el("span", { class: "mnc-sources-label" }, [MSG.sources]), list]);
    }

    function renderQuickReplies(replies) {
      const group = el("div", { class: "mnc-quick", role: "group", "aria-label": MSG.quickReplies });
      replies.forEach((text) => {
        const button = el("button", { type: "button", class: "mnc-quick-btn", "aria-label": text }, [text]);
        button.addEventListener("click", () => onQuickReply(text));
        group.appendChild(button);
      });
      return group;
    }

    function removeQuickReplies() {
      const active = view.shadow.activeElement;
      const hadFocus = active && active.classList.contains("mnc-quick-btn");
      Array.prototype.forEach.call(view.log.querySelectorAll(".mnc-quick"), (n) => n.remove());
      if (hadFocus) focusInput();
    }

    return {
      add, remove, addBotMessages, renderAll,
      find: (id) => items().find((item) => item.id === id) || null,
      // An error item is not conversation: a panel showing only errors still needs a greeting.
      hasConversation: () => items().some((item) => item.role !== "error"),
      hasWelcomeError: () => items().some((item) => item.retry === "welcome"),
      removeWelcomeErrors: () => items().filter((item) => item.retry === "welcome").forEach(remove),
      clear() {
        conversation.items = [];
        conversation.save();
        renderAll();
      },
    };
  }

  // The official pages an answer rests on: https addresses only, whatever the server sent.
  function safeLinks(links) {
    if (!Array.isArray(links)) return [];
    return links.filter((l) => l && typeof l.title === "string" && typeof l.url === "string"
                               && /^https:\/\/[^\s"<>]+$/.test(l.url)).slice(0, MAX_SOURCES);
  }

  // Dates, amounts, URLs and phone numbers made easy to read or use.
  const RICH = new RegExp([
    "(https?:\\/\\/[A-Za-z0-9\\-._~:/?#\\[\\]@!$&*+,;=%]+)",
    "((?:\\d{4}年|(?:令和|平成|昭和)(?:\\d{1,2}|元)年)?\\d{1,2}月\\d{1,2}日(?:[(（][^()（）\\n]{1,20}[)）])?)",
    "((?:\\d{1,3}(?:,\\d{3})+|\\d+)円|無料)",
    "(0\\d{1,4}-\\d{1,4}-\\d{3,4})",
  ].join("|"), "g");

  function appendRichText(parent, text) {
    let last = 0;
    let m;
    RICH.lastIndex = 0;
    while ((m = RICH.exec(text)) !== null) {
      let token = m[0];
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
        const era = token.search(/[(（]/);
        parent.appendChild(el("strong", { class: "mnc-date" }, [era < 0 ? token : token.slice(0, era)]));
        if (era >= 0) parent.appendChild(el("strong", { class: "mnc-date mnc-era" }, [token.slice(era)]));
      } else {
        parent.appendChild(el("strong", { class: "mnc-amount" }, [token]));
      }
      last = m.index + token.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // A new tab without the opener or the referrer, so the linked site learns nothing of the
  // city's page.
  function link(href, label, external) {
    const a = document.createElement("a");
    a.href = href;
    a.appendChild(document.createTextNode(label));
    if (external) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", { class: "mnc-sr" }, [MSG.newWindow]));
    }
    return a;
  }

  // ------------------------------------------------------------ composer

  // The text box: Enter sends, Shift+Enter is a newline, and Enter that confirms a Japanese IME
  // conversion never sends.
  //
  // Chrome and Firefox mark that keydown with isComposing (and keyCode 229). Safari fires
  // compositionend first and then a keydown that no longer says it is composing, so a
  // composition that has just ended is remembered until the key is released (or a moment
  // passes).

  const JUST_COMPOSED_MS = 300;
  const MAX_HEIGHT_PX = 160;

  // `send(text)` gets what was typed, never empty or whitespace only.
  function attachComposer({ form, input, send }) {
    let composing = false;
    let justComposed = false;
    let justComposedTimer = null;

    input.addEventListener("compositionstart", () => { composing = true; });
    input.addEventListener("compositionend", () => {
      composing = false;
      justComposed = true;
      clearTimeout(justComposedTimer);
      justComposedTimer = setTimeout(() => { justComposed = false; }, JUST_COMPOSED_MS);
    });
    input.addEventListener("keyup", () => {
      justComposed = false;
      clearTimeout(justComposedTimer);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      if (e.isComposing || e.keyCode === 229 || composing || justComposed) return;
      if (e.shiftKey) return; // the browser inserts the newline
      e.preventDefault();
      sendTyped();
    });
    input.addEventListener("input", autoGrow);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      sendTyped();
    });

    function sendTyped() {
      const text = input.value;
      if (text.trim()) {
        input.value = "";
        autoGrow();
        send(text);
      }
      input.focus();
    }

    function autoGrow() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight + 2, MAX_HEIGHT_PX) + "px";
    }
  }

  // ------------------------------------------------------------ connection

  // The connection to the bot, as a state machine: which way a message can go now (the
  // WebSocket /ws, or HTTP), and how the socket is opened, greeted, lost and opened again.
  //
  // The way there is idle → connecting → awaiting_welcome → open. A socket that fails on the
  // way goes to backoff and is tried again after a delay, or, the fifth time in a row with none
  // ever welcomed, to http_only for good; an open socket that drops goes to backoff too. From
  // backoff the next socket starts when the delay is over, or at once when there is reason to
  // think the network is back.
  //
  // TRANSITIONS below is the whole of it: every change of state goes through fire(), which
  // takes the first row that matches. A row's effects are named, and a name that does not
  // resolve fails at start-up, not when some reader's connection happens to take that row.
  // The state is also on the page, as <div id="mnc-chat" data-connection="…">.

  const HELLO_TIMEOUT_MS = 8000; // some proxies accept the upgrade and then say nothing
  const RECONNECT_BASE_MS = 500;
  const RECONNECT_CAP_MS = 30000;
  // A socket that failed this many times in a row, without one ever working, is blocked.
  const BLOCKED_AFTER_FAILURES = 5;

  const STATES = {
    idle: "the panel has not been opened: no socket, nothing is sent",
    connecting: "a socket is opening (its hello timeout runs)",
    awaiting_welcome: "the socket is open and has said hello; its welcome has not come yet",
    open: "welcomed: messages go over the socket",
    backoff: "no socket; the next opens after a growing, jittered delay. Meanwhile messages go "
      + "over HTTP: at once when the last socket failed, after 1.5 s when a working one dropped",
    http_only: "WebSockets do not work for this page (missing, or failed 5 times): HTTP only",
  };

  const PENDING = ["connecting", "awaiting_welcome"]; // a socket that has not been welcomed
  const WITH_SOCKET = ["connecting", "awaiting_welcome", "open"];

  // [from, event, to, effects, guard]. The first row whose state and event match and whose
  // guard (if any) holds is taken; an event no row takes is ignored in that state (`wake`
  // while open, anything in http_only). `to` null stays in the state without leaving it.
  const TRANSITIONS = [
    ["idle", "start", "connecting", [], "socketsExist"],
    ["idle", "start", "http_only", ["greetOverHttp"]],
    ["connecting", "opened", "awaiting_welcome", ["sendHello"]],
    ["awaiting_welcome", "welcomed", "open", ["trustSockets", "hideReconnecting", "welcome"]],
    [PENDING, "closed", "http_only", ["countFailure", "greetOverHttp"], "lastStraw"],
    [PENDING, "closed", "backoff", ["countFailure", "greetOverHttp"]],
    [PENDING, "hello_timeout", "http_only", ["countFailure", "greetOverHttp"], "lastStraw"],
    [PENDING, "hello_timeout", "backoff", ["countFailure", "greetOverHttp"]],
    ["open", "closed", "backoff", ["requeueInFlight", "showReconnecting"]],
    ["open", "send_failed", "backoff", ["requeueInFlight"]],
    // The outbox has already shown the timeout; a socket that stopped answering is not reused.
    ["open", "reply_timeout", "backoff", []],
    ["backoff", "retry_due", "connecting", []],
    ["backoff", "wake", "connecting", ["resetBackoff"]],
    ["backoff", "server_back", "connecting", ["resetBackoff"], "workedBefore"],
    // 新しい会話: a fresh socket says hello without a session, and its welcome starts the new one.
    [WITH_SOCKET, "reset", "connecting", []],
    [["backoff", "http_only"], "reset", null, ["greetOverHttp"]],
  ];

  // What entering a state does, whichever row led there. Entering any state ends the previous
  // state's timer; only awaiting_welcome and open keep the socket they came with.
  const ON_ENTER = {
    idle: [],
    connecting: ["dropSocket", "openSocket"],
    awaiting_welcome: ["keepHelloTimeout"],
    open: [],
    backoff: ["dropSocket", "scheduleRetry"],
    http_only: ["dropSocket"],
  };

  // Events: start (the panel opened), opened / closed (the socket's open, and its error or
  // close, whichever comes first: Chromium fires error alone for a socket the page's CSP
  // refuses), welcomed (the welcome frame), hello_timeout and retry_due (this machine's timers),
  // send_failed and reply_timeout (the outbox), wake (online, the tab shown, 再接続),
  // server_back (an HTTP answer came), reset (新しい会話).
  //
  // `app` gives: hello() → the hello frame's {session_id, municipality}; frame(frame) for every
  // frame but the welcome; changed(state, from, event) after each transition; and the effects
  // greetOverHttp, welcome(frame, helloSessionId), requeueInFlight, showReconnecting and
  // hideReconnecting.
  function createConnection({ url, app }) {
    let current = "idle";
    const ctx = {
      socket: null, // in connecting, awaiting_welcome and open only
      timer: null, // the current state's: the hello timeout, or the backoff delay
      helloDeadline: 0,
      helloSessionId: null, // the session the current socket's hello asked for
      everWelcomed: false, // a socket has worked on this page
      failures: 0, // sockets in a row that failed before their welcome
      attempt: 0, // the next backoff delay's exponent
    };

    const guards = {
      socketsExist: () => typeof window.WebSocket === "function",
      lastStraw: () => !ctx.everWelcomed && ctx.failures + 1 >= BLOCKED_AFTER_FAILURES,
      workedBefore: () => ctx.everWelcomed,
    };

    const effects = {
      openSocket() {
        ctx.helloDeadline = Date.now() + HELLO_TIMEOUT_MS;
        after(HELLO_TIMEOUT_MS, "hello_timeout");
        let sock;
        try {
          sock = new window.WebSocket(url);
        } catch (err) {
          fire("closed");
          return;
        }
        ctx.socket = sock;
        sock.onopen = () => { if (sock === ctx.socket) fire("opened"); };
        sock.onclose = sock.onerror = () => { if (sock === ctx.socket) fire("closed"); };
        sock.onmessage = (ev) => {
          if (sock !== ctx.socket) return;
          let frame;
          try {
            frame = JSON.parse(ev.data);
          } catch (err) {
            return;
          }
          if (frame && frame.type === "welcome") fire("welcomed", frame);
          else app.frame(frame);
        };
      },
      keepHelloTimeout() {
        after(ctx.helloDeadline - Date.now(), "hello_timeout");
      },
      sendHello() {
        const hello = app.hello();
        ctx.helloSessionId = hello.session_id;
        try {
          ctx.socket.send(JSON.stringify({ type: "hello", session_id: hello.session_id,
                                           municipality: hello.municipality }));
        } catch (err) { /* the hello timeout ends a socket that cannot say hello */ }
      },
      dropSocket() {
        const sock = ctx.socket;
        ctx.socket = null;
        if (!sock) return;
        sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
        try { sock.close(); } catch (err) { /* already closed */ }
      },
      scheduleRetry() {
        after(backoffDelay(ctx.attempt), "retry_due");
        ctx.attempt += 1;
      },
      countFailure() { ctx.failures += 1; },
      resetBackoff() { ctx.attempt = 0; },
      trustSockets() {
        ctx.everWelcomed = true;
        ctx.failures = 0;
        ctx.attempt = 0;
      },
      welcome(frame) { app.welcome(frame, ctx.helloSessionId); },
      greetOverHttp() { app.greetOverHttp(); },
      requeueInFlight() { app.requeueInFlight(); },
      showReconnecting() { app.showReconnecting(); },
      hideReconnecting() { app.hideReconnecting(); },
    };

    checkTable(guards, effects);

    // Run to completion: an event fired while a transition runs (a socket that fails as it is
    // made, a reply that fails as it is sent) is taken after it.
    const queue = [];
    let running = false;

    function fire(event, detail) {
      queue.push([event, detail]);
      if (running) return;
      running = true;
      try {
        while (queue.length) step(...queue.shift());
      } finally {
        running = false;
      }
    }

    function step(event, detail) {
      const row = TRANSITIONS.find(([from, on, , , guard]) => [].concat(from).includes(current)
        && on === event && (!guard || guards[guard]()));
      if (!row) return;
      const [, , to, rowEffects] = row;
      const from = current;
      if (to !== null) {
        clearTimeout(ctx.timer);
        ctx.timer = null;
        current = to;
      }
      rowEffects.forEach((name) => effects[name](detail));
      if (to !== null) ON_ENTER[to].forEach((name) => effects[name](detail));
      app.changed(current, from, event);
    }

    function after(ms, event) {
      ctx.timer = setTimeout(() => fire(event), Math.max(0, ms));
    }

    return {
      fire,
      get state() { return current; },
      // Which way the next message goes: "socket", "http", "wait" (a socket is on its way or
      // coming back after a drop: give it a moment) or "hold" (not started).
      route() {
        if (current === "idle") return "hold";
        if (current === "open" && ctx.socket.readyState === 1) return "socket";
        if (current === "http_only" || ctx.failures > 0) return "http";
        return "wait";
      },
      // A message frame over the open socket; false (and send_failed) when it could not go.
      send(frame) {
        try {
          ctx.socket.send(JSON.stringify(frame));
          return true;
        } catch (err) {
          fire("send_failed");
          return false;
        }
      },
    };
  }

  // Exponential, capped, with jitter so that a restarted server is not hit by every open page at
  // the same instant: between half and all of 0.5 s × 2^attempt, at most 30 s.
  function backoffDelay(attempt) {
    const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, attempt));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  function checkTable(guards, effects) {
    const known = (name, kind) => {
      if (!(name in kind)) throw new Error("widget.js, connection: '" + name + "' is named in the table but not defined");
    };
    TRANSITIONS.forEach(([from, , to, rowEffects, guard]) => {
      [].concat(from, to === null ? [] : [to]).forEach((s) => known(s, STATES));
      rowEffects.forEach((name) => known(name, effects));
      if (guard) known(guard, guards);
    });
    Object.keys(STATES).forEach((s) => ON_ENTER[s].forEach((name) => known(name, effects)));
  }

  // ------------------------------------------------------------ outbox

  // The user's messages on their way to the bot: one at a time and in order, because the
  // dialogue on the server depends on the order. Each goes the way the connection says
  // (route(), above): over the open socket, over POST /api/chat, or, while a
  // socket is on its way, after waiting up to 1.5 s for it. Network errors and 502/503/504 over
  // HTTP are retried with the connection's backoff before an error is shown; nothing typed is
  // dropped (unanswered messages stay "pending" in the stored transcript and go again after a
  // reload).

  const HTTP_FALLBACK_WAIT_MS = 1500;
  const REPLY_TIMEOUT_MS = 20000;
  const HTTP_RETRY_LIMIT = 5;

  // `conversation` gives the session and municipality each message is sent with. `app` gives:
  // answered(item, reply) and failed(item, text) for the transcript, and busyChanged() after
  // anything that may start or end the typing indicator.
  function createOutbox({ connection, chatUrl, conversation, app }) {
    let queue = []; // user items waiting to be sent, oldest first
    let inflight = null; // {item, via: "ws" | "http", timer}
    let fallbackTimer = null;

    function pump() {
      if (!inflight && queue.length) {
        const route = connection.route();
        if (route === "socket") {
          clearTimeout(fallbackTimer);
          fallbackTimer = null;
          sendOverSocket(queue[0]);
        } else if (route === "http") {
          sendOverHttp(queue[0]);
        } else if (route === "wait" && !fallbackTimer) {
          fallbackTimer = setTimeout(() => {
            fallbackTimer = null;
            if (!inflight && queue.length && connection.route() !== "socket") sendOverHttp(queue[0]);
            else pump();
          }, HTTP_FALLBACK_WAIT_MS);
        }
      }
      app.busyChanged();
    }

    function sendOverSocket(item) {
      queue.shift();
      inflight = { item: item, via: "ws", timer: null };
      inflight.timer = setTimeout(() => {
        if (!inflight || inflight.item !== item) return;
        inflight = null;
        fail(item, MSG.errTimeout);
        connection.fire("reply_timeout");
        pump();
      }, REPLY_TIMEOUT_MS);
      // When it cannot go, the connection's send_failed puts it back first in line.
      connection.send({
        type: "message", id: item.id, text: item.text,
        session_id: conversation.sessionId, municipality: conversation.municipality,
      });
    }

    function sendOverHttp(item, attempt) {
      attempt = attempt || 0;
      if (queue[0] === item) queue.shift();
      inflight = { item: item, via: "http", timer: null };
      app.busyChanged();
      const body = { text: item.text, municipality: conversation.municipality };
      if (conversation.sessionId) body.session_id = conversation.sessionId;
      fetchJson(chatUrl, { method: "POST", body: JSON.stringify(body) }).then((res) => {
        if (!inflight || inflight.item !== item) return; // superseded by 新しい会話
        inflight = null;
        if (res.ok) {
          answered(item, res.data);
          // The server is reachable again; if the socket had worked before, try it now.
          connection.fire("server_back");
        } else if (res.transient && attempt < HTTP_RETRY_LIMIT) {
          inflight = { item: item, via: "http", timer: null };
          inflight.timer = setTimeout(() => {
            if (!inflight || inflight.item !== item) return;
            inflight = null;
            if (connection.route() === "socket") {
              queue.unshift(item);
              pump();
            } else {
              sendOverHttp(item, attempt + 1);
            }
          }, backoffDelay(attempt + 1));
        } else {
          fail(item, errorText(res));
        }
        pump();
      });
    }

    function answered(item, reply) {
      item.state = "sent";
      if (inflight && inflight.item === item) {
        clearTimeout(inflight.timer);
        inflight = null;
      }
      app.answered(item, reply);
      pump();
    }

    function fail(item, text) {
      item.state = "failed";
      app.failed(item, text);
    }

    return {
      pump,

      // A user item whose state is "pending".
      send(item) {
        queue.push(item);
        pump();
      },

      // After a reload: what was typed but not answered goes again, in order, once started.
      restore(items) {
        items.forEach((item) => { if (item.role === "user" && item.state === "pending") queue.push(item); });
      },

      // A reply or an error frame from the socket, for the message in flight.
      receive(frame) {
        if (!frame || !inflight || inflight.via !== "ws") return;
        if (frame.id !== inflight.item.id) return; // a late answer to something already settled
        const item = inflight.item;
        if (frame.type === "reply") {
          answered(item, frame);
        } else if (frame.type === "error") {
          clearTimeout(inflight.timer);
          inflight = null;
          fail(item, errorText({ status: 400, error: frame.error }));
          pump();
        }
      },

      // The socket went away with a message on it: that message goes again, first.
      requeueInFlight() {
        if (inflight && inflight.via === "ws") {
          clearTimeout(inflight.timer);
          queue.unshift(inflight.item);
          inflight = null;
        }
      },

      clear() {
        queue = [];
        if (inflight) clearTimeout(inflight.timer);
        inflight = null;
        clearTimeout(fallbackTimer);
        fallbackTimer = null;
      },

      busy: () => !!inflight || queue.length > 0,
    };
  }

  function errorText(res) {
    const code = res.error && res.error.code;
    if (res.status === 429 || code === "rate_limited") return MSG.errRateLimit;
    if (res.status === 0 || res.transient) return MSG.errNetwork;
    if (res.status >= 500) return MSG.errServer;
    return MSG.errBadInput;
  }

  // ------------------------------------------------------------ app

  // The parts above put together; what is left here is what
  // ties them: the panel opening and closing, the greeting, 新しい会話 and the page's API.

  function createChat({ base, data }) {
    const title = (data.title || "").trim() || DEFAULT_TITLE;
    const pageMunicipality = (data.municipality || "").trim() || null;
    const welcomeUrl = new URL("api/welcome", base).href;
    const conversation = loadConversation(pageMunicipality);
    let greetingPending = false; // GET /api/welcome on its way

    const view = createView({
      title, color: data.color, cssUrl: new URL("widget.css", base).href,
      on: { open: () => openPanel(), close: closePanel, newConversation },
    });
    const focusInput = () => view.input.focus();
    const transcript = createTranscript({
      conversation, view, onRetry: retry, focusInput,
      onQuickReply(text) {
        sendText(text);
        focusInput();
      },
    });
    attachComposer({ form: view.form, input: view.input, send: sendText });

    const connection = createConnection({
      url: new URL("ws", base).href.replace(/^http/, "ws"),
      app: {
        hello: () => ({ session_id: conversation.sessionId, municipality: conversation.municipality }),
        frame: (frame) => outbox.receive(frame),
        welcome,
        greetOverHttp: ensureGreeting,
        requeueInFlight: () => outbox.requeueInFlight(),
        showReconnecting: () => view.showStatus(MSG.reconnecting),
        hideReconnecting: () => view.hideStatus(),
        changed(state) {
          view.showConnection(state);
          outbox.pump();
        },
      },
    });
    const outbox = createOutbox({
      connection, conversation, chatUrl: new URL("api/chat", base).href,
      app: {
        answered(item, reply) {
          if (reply && typeof reply.session_id === "string") conversation.sessionId = reply.session_id;
          transcript.addBotMessages(reply && reply.messages);
          conversation.save();
        },
        failed(item, text) {
          transcript.add({ role: "error", id: conversation.nextId(), text: text, retry: item.id });
        },
        busyChanged: updateTyping,
      },
    });
    view.showConnection(connection.state);

    window.addEventListener("online", () => connection.fire("wake"));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") connection.fire("wake");
    });

    function mount() {
      document.body.appendChild(view.host);
      transcript.renderAll();
      outbox.restore(conversation.items);
      if (conversation.open || outbox.busy()) openPanel({ focus: false });
    }

    function openPanel(opts) {
      view.showPanel();
      conversation.open = true;
      conversation.save();
      connection.fire("start"); // the first time only: then the connection is no longer idle
      outbox.pump();
      view.scrollToEnd();
      if (!opts || opts.focus !== false) focusInput();
    }

    function closePanel() {
      view.hidePanel();
      conversation.open = false;
      conversation.save();
    }

    function newConversation() {
      outbox.clear();
      conversation.sessionId = null;
      greetingPending = false;
      transcript.clear();
      updateTyping();
      if (connection.state === "idle") {
        openPanel();
        return;
      }
      connection.fire("reset");
      focusInput();
    }

    function sendText(text) {
      const item = { role: "user", id: conversation.nextId(), text: text, state: "pending" };
      transcript.add(item);
      outbox.send(item);
    }

    function retry(errorItem) {
      transcript.remove(errorItem);
      if (errorItem.retry === "welcome") {
        connection.fire("wake");
        ensureGreeting();
        return;
      }
      const original = transcript.find(errorItem.retry);
      if (original) {
        original.state = "pending";
        conversation.save();
        outbox.send(original);
      }
      focusInput();
    }

    // The socket's welcome: the session it names, and the greeting when the transcript is empty.
    function welcome(frame, helloSessionId) {
      // Message frames name their session, so if an HTTP answer started one while this hello
      // was on its way, that session stays ours rather than the fresh one the hello got.
      const startedMeanwhile = helloSessionId === null && conversation.sessionId;
      if (typeof frame.session_id === "string" && !startedMeanwhile) conversation.sessionId = frame.session_id;
      if (!transcript.hasConversation()) {
        greetingPending = false;
        transcript.removeWelcomeErrors();
        transcript.addBotMessages(frame.messages);
      }
      conversation.save();
    }

    // Without a socket the greeting comes over HTTP, so the panel is never empty.
    function ensureGreeting() {
      if (transcript.hasConversation() || greetingPending) return;
      greetingPending = true;
      updateTyping();
      const params = { municipality: conversation.municipality, session_id: conversation.sessionId };
      fetchJson(welcomeUrl + "?" + query(params), { method: "GET" }).then((res) => {
        if (!greetingPending) return; // a socket welcome or 新しい会話 came first
        greetingPending = false;
        if (!transcript.hasConversation()) {
          if (res.ok) {
            if (typeof res.data.session_id === "string") conversation.sessionId = res.data.session_id;
            transcript.removeWelcomeErrors();
            transcript.addBotMessages(res.data.messages);
            conversation.save();
          } else if (!transcript.hasWelcomeError()) {
            transcript.add({ role: "error", id: conversation.nextId(), text: MSG.errWelcome, retry: "welcome" });
          }
        }
        updateTyping();
      });
    }

    function updateTyping() {
      const greeting = connection.state !== "idle" && !transcript.hasConversation() && !transcript.hasWelcomeError();
      view.showTyping(outbox.busy() || greetingPending || greeting);
    }

    return {
      mount,
      api: {
        open: () => openPanel(),
        close: closePanel,
        newConversation,
        setMunicipality(code) {
          conversation.municipality = code ? String(code) : null;
          newConversation();
        },
      },
    };
  }

  // ---------------------------------------------------------------- go

  const data = (script && script.dataset) || {};
  const chat = createChat({
    base: new URL("./", (script && script.src) || location.href).href,
    data: { municipality: data.municipality, title: data.title, color: data.color },
  });
  window.MyNumberChat = chat.api;
  if (document.body) chat.mount();
  else document.addEventListener("DOMContentLoaded", chat.mount);
})();
