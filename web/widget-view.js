// The widget's frame: a shadow root on <div id="mnc-chat"> with the launcher and the panel
// (header, status line, scrolling log, composer), the page owner's colour made accessible,
// and the panel's opening, closing and focus handling. What goes into the log is the
// transcript's (widget-transcript.js); what the text box does is the composer's.

import { MSG } from "./widget-text.js";
import { chatIcon, closeIcon, el } from "./widget-dom.js";

const DEFAULT_COLOR = "#0b5fa5";
export const MAX_TEXT_CHARS = 1000;

// `on` says what the launcher, ×, 新しい会話 and Escape do: {open, close, newConversation}.
export function createView({ title, color, cssUrl, on }) {
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

    // The connection's state (widget-connection.js) on the host element, for whoever debugs
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
