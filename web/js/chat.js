// The chat page: streams answers from /v1/chat/completions (POST SSE), shows the reasoning in a
// collapsible block ("Thought for 1.2 s": open while it streams, collapsed after), renders the
// answer as sanitized markdown, keeps conversations in localStorage, and can stop a reply. An empty
// chat shows what the model is (its size, what it can solve) and a few example prompts, from
// /api/model, that send themselves when clicked.
import { readSSE } from './sse.js';
import { loadMarkdown, renderMarkdown } from './markdown.js';
import * as store from './store.js';

const $ = (id) => document.getElementById(id);
const els = {
  sidebar: $('sidebar'), scrim: $('scrim'), menu: $('menu'), list: $('conversations'), newChat: $('new-chat'),
  title: $('chat-title'), model: $('model'), settingsToggle: $('settings-toggle'), settings: $('settings'),
  temperature: $('temperature'), temperatureValue: $('temperature-value'), maxTokens: $('max-tokens'), apiKey: $('api-key'),
  messages: $('messages'), empty: $('empty'), modelLine: $('model-line'), examples: $('examples'), form: $('composer'), input: $('input'), send: $('send'), stop: $('stop'),
};

let conversations = store.loadConversations();
let current = conversations.find((c) => c.id === store.loadCurrentId()) ?? store.newConversation();
let settings = store.loadSettings();
let modelId = null;
let controller = null;
let streamingMsg = null;
let md = null;
loadMarkdown().then((m) => {
  md = m;
  renderConversation();
});

// ---------- server ----------

function headers() {
  const h = { 'Content-Type': 'application/json' };
  if (settings.apiKey) h.Authorization = `Bearer ${settings.apiKey}`;
  return h;
}

async function errorMessage(res) {
  try {
    const body = await res.json();
    return body?.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status} ${res.statusText}`;
  }
}

async function fetchModel() {
  try {
    const res = await fetch('/v1/models', { headers: headers() });
    if (!res.ok) {
      els.model.textContent = res.status === 401 ? 'API key needed' : 'offline';
      els.model.title = await errorMessage(res);
      return null;
    }
    const body = await res.json();
    modelId = body.data?.[0]?.id ?? null;
    els.model.textContent = modelId ?? 'no model';
    els.model.title = `Served model: ${modelId}`;
    return modelId;
  } catch (e) {
    els.model.textContent = 'offline';
    els.model.title = String(e);
    return null;
  }
}

/** A parameter count as people write it: 3.7M, 671B, 950K. */
function fmtCount(n) {
  for (const [v, s] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']]) {
    if (n >= v) return `${Number((n / v).toFixed(n >= 100 * v ? 0 : 1))}${s}`;
  }
  return String(n);
}

/** Fills the empty chat's model line and example buttons from /api/model (left hidden if it fails). */
async function fetchCard() {
  try {
    const res = await fetch('/api/model', { headers: headers() });
    if (!res.ok) return;
    const card = await res.json();
    const p = card.parameters;
    const parts = [card.id, `${fmtCount(p.total)} parameters (${fmtCount(p.activated)} active per token)`];
    if (card.skills) parts.push(`solves ${card.skills}${p.total < 1e9 ? '; it is tiny, so expect mistakes' : ''}`);
    els.modelLine.textContent = parts.join(' · ');
    const experts = card.routed_experts > 0 ? `, MoE: ${card.routed_experts} routed experts, top-${card.experts_per_token}${card.shared_experts ? ` + ${card.shared_experts} shared` : ''}` : '';
    els.modelLine.title = `${card.layers} layers${experts}; context ${card.context_length} tokens${p.mtp ? `; ${fmtCount(p.mtp)} of the parameters are the MTP module` : ''}`;
    els.modelLine.hidden = false;
    els.examples.replaceChildren(...card.examples.map((ex) => {
      const b = Object.assign(document.createElement('button'), { type: 'button', className: 'example', textContent: ex.prompt });
      b.dataset.family = ex.family;
      b.addEventListener('click', () => {
        if (!controller) send(ex.prompt);
      });
      return b;
    }));
    els.examples.hidden = card.examples.length === 0;
  } catch {
    // no card: the empty chat keeps its greeting only
  }
}

// ---------- rendering ----------

function fmtSeconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Builds (or updates) the element of one message. */
function renderMessage(msg, el, streaming = false) {
  if (!el) {
    el = document.createElement('div');
    el.className = `msg ${msg.role}`;
  }
  if (msg.role === 'user') {
    el.replaceChildren(Object.assign(document.createElement('div'), { className: 'bubble', textContent: msg.content }));
    return el;
  }
  el.dataset.state = streaming ? 'streaming' : 'done';
  let details = el.querySelector('details.thinking');
  let answer = el.querySelector('.answer');
  let meta = el.querySelector('.meta');
  if (!answer) {
    details = document.createElement('details');
    details.className = 'thinking';
    details.append(document.createElement('summary'), Object.assign(document.createElement('div'), { className: 'reasoning' }));
    answer = Object.assign(document.createElement('div'), { className: 'answer' });
    meta = Object.assign(document.createElement('div'), { className: 'meta' });
    el.append(details, answer, meta);
  }
  const thinking = streaming && !msg.content && !msg.thinkingDone;
  details.hidden = !msg.reasoning && !thinking;
  details.classList.toggle('streaming', thinking);
  details.querySelector('summary').textContent = thinking
    ? `Thinking… ${msg.thinkingMs ? fmtSeconds(msg.thinkingMs) : ''}`.trim()
    : `Thought for ${fmtSeconds(msg.thinkingMs ?? 0)}`;
  details.querySelector('.reasoning').textContent = msg.reasoning ?? '';
  // Expanded while the reasoning streams; collapsed once it ends (the reader may reopen it).
  const wasThinking = el.dataset.thinking === '1';
  el.dataset.thinking = thinking ? '1' : '0';
  if (thinking) details.open = true;
  else if (wasThinking) details.open = false;

  answer.innerHTML = renderMarkdown(msg.content ?? '', md);
  answer.classList.toggle('cursor', streaming && !thinking);
  const parts = [];
  if (msg.error) {
    const box = Object.assign(document.createElement('div'), { className: 'error-box', textContent: msg.error });
    answer.append(box);
  }
  if (msg.usage) {
    parts.push(`${msg.usage.completion_tokens} tokens`);
    if (msg.elapsedMs) parts.push(`${(msg.usage.completion_tokens / (msg.elapsedMs / 1000)).toFixed(1)} tok/s`);
  }
  if (msg.stopped) parts.push('stopped');
  else if (msg.finishReason === 'length') parts.push('reached the token limit');
  meta.textContent = parts.join(' · ');
  return el;
}

function renderConversation() {
  els.messages.querySelectorAll('.msg').forEach((n) => n.remove());
  els.empty.hidden = current.messages.length > 0;
  for (const m of current.messages) els.messages.append(renderMessage(m, null, m === streamingMsg));
  els.title.textContent = current.title;
  renderSidebar();
  scrollToEnd(true);
}

function renderSidebar() {
  els.list.replaceChildren();
  const all = current.messages.length && !conversations.includes(current) ? [current, ...conversations] : conversations;
  for (const c of all) {
    const li = document.createElement('li');
    if (c.id === current.id) li.className = 'active';
    const open = Object.assign(document.createElement('button'), { type: 'button', className: 'open', textContent: c.title, title: c.title });
    open.addEventListener('click', () => switchTo(c));
    const del = Object.assign(document.createElement('button'), { type: 'button', className: 'delete', textContent: '✕', title: 'Delete this conversation' });
    del.setAttribute('aria-label', `Delete ${c.title}`);
    del.addEventListener('click', () => remove(c));
    li.append(open, del);
    els.list.append(li);
  }
}

function nearBottom() {
  const m = els.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 120;
}

function scrollToEnd(force = false) {
  if (force || nearBottom()) els.messages.scrollTop = els.messages.scrollHeight;
}

// ---------- conversations ----------

function persist() {
  current.updated = Date.now();
  if (current.messages.length && !conversations.includes(current)) conversations.unshift(current);
  store.saveConversations(conversations);
  store.saveCurrentId(current.id);
}

function switchTo(c) {
  if (controller) controller.abort();
  current = c;
  store.saveCurrentId(c.id);
  closeDrawer();
  renderConversation();
}

function remove(c) {
  conversations = conversations.filter((x) => x.id !== c.id);
  store.saveConversations(conversations);
  if (c.id === current.id) switchTo(store.newConversation());
  else renderSidebar();
}

function setBusy(busy) {
  els.send.hidden = busy;
  els.stop.hidden = !busy;
  els.send.disabled = busy;
}

// ---------- sending ----------

async function send(text) {
  if (!modelId && !(await fetchModel())) {
    current.messages.push({ role: 'user', content: text }, { role: 'assistant', content: '', error: `Cannot reach the model: ${els.model.title || 'server offline'}` });
    renderConversation();
    return;
  }
  const history = current.messages.filter((m) => !m.error).map((m) => ({ role: m.role, content: m.content }));
  history.push({ role: 'user', content: text });
  if (!current.messages.length) current.title = text.length > 48 ? `${text.slice(0, 45)}…` : text;
  current.messages.push({ role: 'user', content: text });
  const msg = { role: 'assistant', content: '', reasoning: '', thinkingMs: null, thinkingDone: false };
  current.messages.push(msg);
  streamingMsg = msg;
  persist();
  renderConversation();
  const el = els.messages.lastElementChild;

  controller = new AbortController();
  setBusy(true);
  const t0 = performance.now();
  let frame = 0;
  const update = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      renderMessage(msg, el, true);
      scrollToEnd();
    });
  };
  const tick = setInterval(() => {
    if (!msg.thinkingDone && !msg.content) {
      msg.thinkingMs = performance.now() - t0;
      update();
    }
  }, 100);
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        model: modelId,
        messages: history,
        stream: true,
        stream_options: { include_usage: true },
        temperature: settings.temperature,
        max_tokens: settings.maxTokens,
      }),
      signal: controller.signal,
    });
    if (!res.ok) throw new Error(await errorMessage(res));
    for await (const chunk of readSSE(res)) {
      if (chunk.usage) msg.usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const d = choice.delta ?? {};
      if (d.reasoning_content) {
        msg.reasoning += d.reasoning_content;
        msg.thinkingMs = performance.now() - t0;
      }
      if (d.content) {
        msg.thinkingDone = true;
        msg.content += d.content;
      }
      if (choice.finish_reason) msg.finishReason = choice.finish_reason;
      update();
    }
  } catch (e) {
    if (controller?.signal.aborted) msg.stopped = true;
    else msg.error = e instanceof Error ? e.message : String(e);
  } finally {
    clearInterval(tick);
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    msg.thinkingDone = true;
    msg.elapsedMs = performance.now() - t0;
    if (!msg.reasoning && msg.thinkingMs && !msg.content) msg.thinkingMs = null;
    controller = null;
    streamingMsg = null;
    setBusy(false);
    persist();
    renderMessage(msg, el, false);
    renderSidebar();
    scrollToEnd();
  }
}

// ---------- wiring ----------

function closeDrawer() {
  els.sidebar.classList.remove('open');
  els.scrim.hidden = true;
  els.menu.setAttribute('aria-expanded', 'false');
}

els.menu.addEventListener('click', () => {
  const open = !els.sidebar.classList.contains('open');
  els.sidebar.classList.toggle('open', open);
  els.scrim.hidden = !open;
  els.menu.setAttribute('aria-expanded', String(open));
});
els.scrim.addEventListener('click', closeDrawer);

els.newChat.addEventListener('click', () => {
  switchTo(store.newConversation());
  els.input.focus();
});

els.settingsToggle.addEventListener('click', () => {
  els.settings.hidden = !els.settings.hidden;
  els.settingsToggle.setAttribute('aria-expanded', String(!els.settings.hidden));
});

function showSettings() {
  els.temperature.value = String(settings.temperature);
  els.temperatureValue.textContent = Number(settings.temperature).toFixed(2);
  els.maxTokens.value = String(settings.maxTokens);
  els.apiKey.value = settings.apiKey;
}

function readSettings() {
  const t = Number(els.temperature.value);
  const n = Math.round(Number(els.maxTokens.value));
  settings = {
    temperature: Number.isFinite(t) ? Math.min(2, Math.max(0, t)) : 0.6,
    maxTokens: Number.isFinite(n) && n >= 1 ? n : 256,
    apiKey: els.apiKey.value.trim(),
  };
  els.temperatureValue.textContent = settings.temperature.toFixed(2);
  store.saveSettings(settings);
}

els.temperature.addEventListener('input', readSettings);
els.maxTokens.addEventListener('change', readSettings);
els.apiKey.addEventListener('change', () => {
  readSettings();
  fetchModel();
  fetchCard();
});

els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = els.input.value.trim();
  if (!text || controller) return;
  els.input.value = '';
  autosize();
  send(text);
});

els.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.form.requestSubmit();
  }
});

function autosize() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight + 2, window.innerHeight * 0.4)}px`;
}
els.input.addEventListener('input', autosize);

els.stop.addEventListener('click', () => controller?.abort());

showSettings();
renderConversation();
fetchModel();
fetchCard();
els.input.focus();
