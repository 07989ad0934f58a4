// Markdown → sanitized HTML with marked and DOMPurify, both served by tinyseek from node_modules
// (/vendor/…). If either cannot be loaded, text is shown as escaped plain text.

let libs = null;

/** Loads marked and DOMPurify once; resolves to null if unavailable. */
export function loadMarkdown() {
  libs ??= Promise.all([import('/vendor/marked.esm.js'), import('/vendor/purify.es.mjs')])
    .then(([m, p]) => {
      const purify = p.default;
      // Links open in a new tab, without giving it a handle on this page.
      purify.addHook('afterSanitizeAttributes', (node) => {
        if (node.tagName === 'A' && node.getAttribute('href')) {
          node.setAttribute('target', '_blank');
          node.setAttribute('rel', 'noopener noreferrer');
        }
      });
      const marked = new m.Marked({ gfm: true, breaks: true });
      return { marked, purify };
    })
    .catch((e) => {
      console.warn('markdown disabled:', e);
      return null;
    });
  return libs;
}

/** Escapes text for HTML. */
export function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Renders markdown to sanitized HTML (synchronously, once loadMarkdown() has resolved). */
export function renderMarkdown(text, loaded) {
  if (!loaded) return escapeHtml(text).replace(/\n/g, '<br>');
  const html = loaded.marked.parse(text, { async: false });
  return loaded.purify.sanitize(html, { USE_PROFILES: { html: true } });
}
