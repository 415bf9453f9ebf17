// The HTTP side of the bot (GET /api/welcome, POST /api/chat): JSON in and out, no cookies,
// nothing cached, a time limit, and every outcome a plain result instead of an exception.

const HTTP_TIMEOUT_MS = 20000;

// Resolves to {ok: true, status, data} or {ok: false, status, transient, error}; status 0 is
// no answer at all (network, CORS, timeout). Transient failures are worth trying again.
export function fetchJson(url, opts) {
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
export function query(params) {
  return Object.keys(params).filter((k) => params[k]).map((k) => (
    encodeURIComponent(k) + "=" + encodeURIComponent(params[k])
  )).join("&");
}
