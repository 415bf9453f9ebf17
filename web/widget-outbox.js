// The user's messages on their way to the bot: one at a time and in order, because the
// dialogue on the server depends on the order. Each goes the way the connection says
// (widget-connection.js route()): over the open socket, over POST /api/chat, or, while a
// socket is on its way, after waiting up to 1.5 s for it. Network errors and 502/503/504 over
// HTTP are retried with the connection's backoff before an error is shown; nothing typed is
// dropped (unanswered messages stay "pending" in the stored transcript and go again after a
// reload).

import { MSG } from "./widget-text.js";
import { backoffDelay } from "./widget-connection.js";
import { fetchJson } from "./widget-http.js";

const HTTP_FALLBACK_WAIT_MS = 1500;
const REPLY_TIMEOUT_MS = 20000;
const HTTP_RETRY_LIMIT = 5;

// `conversation` gives the session and municipality each message is sent with. `app` gives:
// answered(item, reply) and failed(item, text) for the transcript, and busyChanged() after
// anything that may start or end the typing indicator.
export function createOutbox({ connection, chatUrl, conversation, app }) {
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
