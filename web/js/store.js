// Conversation history and settings in localStorage (they never leave the browser).
// A conversation: {id, title, created, updated, messages: [{role, content, reasoning?, thinkingMs?,
// usage?, finishReason?, error?}]}.

const CONVERSATIONS = 'tinyseek.conversations';
const CURRENT = 'tinyseek.current';
const SETTINGS = 'tinyseek.settings';

function read(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    console.warn('could not save to localStorage:', e);
  }
}

/** All conversations, newest first. */
export function loadConversations() {
  const list = read(CONVERSATIONS, []);
  return Array.isArray(list) ? list.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages)) : [];
}

/** Saves all conversations (newest first; empty ones are dropped). */
export function saveConversations(list) {
  write(CONVERSATIONS, list.filter((c) => c.messages.length > 0).sort((a, b) => b.updated - a.updated));
}

/** A new empty conversation. */
export function newConversation() {
  const now = Date.now();
  const id = (crypto.randomUUID?.() ?? `${now}-${Math.random().toString(36).slice(2)}`);
  return { id, title: 'New chat', created: now, updated: now, messages: [] };
}

export function loadCurrentId() {
  return read(CURRENT, null);
}

export function saveCurrentId(id) {
  write(CURRENT, id);
}

const DEFAULT_SETTINGS = { temperature: 0.6, maxTokens: 256, apiKey: '' };

/** Chat settings (temperature, max tokens, API key). */
export function loadSettings() {
  const s = read(SETTINGS, {});
  return { ...DEFAULT_SETTINGS, ...(s && typeof s === 'object' ? s : {}) };
}

export function saveSettings(s) {
  write(SETTINGS, s);
}
