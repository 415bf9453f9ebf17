// The conversation kept in the tab's sessionStorage: the session id and the visible
// transcript (with the messages not yet answered), so a reload keeps it and closing the tab
// ends it.

const STORAGE_KEY = "mnc-chat:v1";
const MAX_STORED_ITEMS = 200;

// What the widget remembers. `items` are the transcript: {role: "user" | "bot" | "error", id,
// text, ...}; a user item's `state` is "pending" until answered, then "sent" or "failed".
export function loadConversation(pageMunicipality) {
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
