// The chat widget put together from its parts (loaded by widget.js, the one file a page
// embeds): the frame (widget-view.js), the stored conversation (widget-storage.js) and its
// transcript (widget-transcript.js), the text box (widget-composer.js), the connection state
// machine (widget-connection.js) and the outbox (widget-outbox.js). What is left here is what
// ties them: the panel opening and closing, the greeting, 新しい会話 and the page's API.

import { DEFAULT_TITLE, MSG } from "./widget-text.js";
import { createView } from "./widget-view.js";
import { loadConversation } from "./widget-storage.js";
import { createTranscript } from "./widget-transcript.js";
import { attachComposer } from "./widget-composer.js";
import { createConnection } from "./widget-connection.js";
import { createOutbox } from "./widget-outbox.js";
import { fetchJson, query } from "./widget-http.js";

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

// widget.js left the tag's settings, and the calls the page made before now, on the API object.
const api = window.MyNumberChat;
const boot = api && api.boot;
if (boot) {
  delete api.boot;
  const chat = createChat(boot);
  const mount = () => {
    chat.mount();
    Object.assign(api, chat.api);
    boot.calls.forEach(([name, args]) => chat.api[name](...args));
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}
