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

export const HELLO_TIMEOUT_MS = 8000; // some proxies accept the upgrade and then say nothing
const RECONNECT_BASE_MS = 500;
const RECONNECT_CAP_MS = 30000;
// A socket that failed this many times in a row, without one ever working, is blocked.
const BLOCKED_AFTER_FAILURES = 5;

export const STATES = {
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
export const TRANSITIONS = [
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
export function createConnection({ url, app }) {
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
export function backoffDelay(attempt) {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, attempt));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function checkTable(guards, effects) {
  const known = (name, kind) => {
    if (!(name in kind)) throw new Error("widget-connection.js: '" + name + "' is named in the table but not defined");
  };
  TRANSITIONS.forEach(([from, , to, rowEffects, guard]) => {
    [].concat(from, to === null ? [] : [to]).forEach((s) => known(s, STATES));
    rowEffects.forEach((name) => known(name, effects));
    if (guard) known(guard, guards);
  });
  Object.keys(STATES).forEach((s) => ON_ENTER[s].forEach((name) => known(name, effects)));
}
