// The conversation as the reader sees it: the items of the stored conversation
// (widget-storage.js), each drawn as a row in the log. Text is always inserted as text nodes;
// URLs, phone numbers, dates and amounts become links and <strong>s built as nodes. Quick
// replies are buttons on the bot's latest turn only; an answer's official pages are listed
// under it (https only, whatever the server sent).

import { MSG } from "./widget-text.js";
import { cssEscape, el } from "./widget-dom.js";

const MAX_SOURCES = 3;

// `onRetry(errorItem)` is the 再送信/再接続 button of an error; `onQuickReply(text)` a topic
// button; `focusInput()` takes focus back when the button that had it goes away.
export function createTranscript({ conversation, view, onRetry, onQuickReply, focusInput }) {
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
