"""JavaScript run inside the page. Kept apart so the Python around it stays readable."""

# Page facts for one observation, in one round trip: the title, a cheap fingerprint of the document
# (to tell whether an action changed anything) and, when a pointer needs them, the visible elements.
OBSERVE = r"""
(withElements) => {
  const html = document.documentElement ? document.documentElement.outerHTML : "";
  let h = 0x811c9dc5;
  for (let i = 0; i < html.length; i++) { h ^= html.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return {title: document.title, signature: (h >>> 0).toString(16) + ":" + html.length,
          elements: withElements ? (%s)() : []};
}
"""

# Visible elements with an accessible name.
ELEMENTS = r"""
() => {
  const vw = innerWidth, vh = innerHeight, out = [];
  const clean = s => (s || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const editable = el => el.isContentEditable ||
    (el.tagName === "INPUT" && !["button","submit","reset","checkbox","radio","image","hidden","file"].includes(el.type)) ||
    el.tagName === "TEXTAREA";
  const interactive = el => /^(A|BUTTON|INPUT|SELECT|TEXTAREA|LABEL|SUMMARY|OPTION)$/.test(el.tagName) ||
    el.hasAttribute("role") || el.hasAttribute("onclick") || el.hasAttribute("tabindex");
  const ownText = el => clean(Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join(" "));
  const nameOf = el => {
    const aria = el.getAttribute("aria-label");
    if (aria) return clean(aria);
    const by = el.getAttribute("aria-labelledby");
    if (by) return clean(by.split(/\s+/).map(id => document.getElementById(id)?.innerText || "").join(" "));
    if (el.labels && el.labels.length) return clean(el.labels[0].innerText);
    if (el.tagName === "INPUT" && ["button","submit","reset"].includes(el.type)) return clean(el.value);
    if (el.placeholder) return clean(el.placeholder);
    if (el.alt) return clean(el.alt);
    if (el.tagName === "SELECT") return "";
    return interactive(el) ? clean(el.innerText) : ownText(el);
  };
  for (const el of document.querySelectorAll("body *")) {
    if (!interactive(el) && !ownText(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0 || r.left >= vw || r.top >= vh) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.opacity === "0") continue;
    const name = nameOf(el);
    if (!name && !editable(el) && el.tagName !== "SELECT") continue;
    const cx = Math.min(Math.max(r.left + r.width / 2, 0), vw - 1), cy = Math.min(Math.max(r.top + r.height / 2, 0), vh - 1);
    const hit = document.elementFromPoint(cx, cy);
    out.push({
      tag: el.tagName.toLowerCase(), role: el.getAttribute("role"), name,
      box: {x: r.left, y: r.top, width: r.width, height: r.height},
      editable: editable(el), on_top: !!hit && (hit === el || el.contains(hit) || hit.contains(el)),
    });
  }
  return out;
}
"""

OBSERVE = OBSERVE % ELEMENTS.strip()

# Counts the new tabs a page asks for, so the agent knows to wait for one (they arrive late).
COUNT_POPUPS = r"""
(() => {
  const mark = () => { window.__molmoPopups = (window.__molmoPopups || 0) + 1; };
  const open = window.open;
  window.open = function (...args) { mark(); return open.apply(this, args); };
  window.addEventListener("click", (e) => {
    const link = e.target && e.target.closest ? e.target.closest("a[target]") : null;
    if (link && !e.defaultPrevented && !["_self", "_top", "_parent", ""].includes(link.target)) mark();
  });
})();
"""

# Lets the tasks an input event queued run, and says how many tabs the page asked to open meanwhile.
# The screenshot that follows waits for a fresh frame anyway.
SETTLE = r"""
() => new Promise(r => setTimeout(() => { const n = window.__molmoPopups || 0; window.__molmoPopups = 0; r(n); }, 0))
"""

# The <select> a point refers to: the select itself, a label's control, or the select next to it.
SELECT_AT = r"""
([x, y]) => {
  let el = document.elementFromPoint(x, y);
  for (let up = 0; el && up < 4; up++, el = el.parentElement) {
    if (el.tagName === "SELECT") return el;
    if (el.tagName === "LABEL" && el.control && el.control.tagName === "SELECT") return el.control;
    const inside = el.querySelectorAll("select");
    if (inside.length === 1) return inside[0];
  }
  return null;
}
"""

# The value of the option whose text best matches `wanted` (exact, then case-insensitive, then prefix).
OPTION_VALUE = r"""
(select, wanted) => {
  const norm = s => s.replace(/\s+/g, " ").trim().toLowerCase();
  const opts = Array.from(select.options), w = norm(wanted);
  const hit = opts.find(o => o.text.trim() === wanted.trim()) || opts.find(o => norm(o.text) === w) ||
    opts.find(o => norm(o.value) === w) || opts.find(o => norm(o.text).startsWith(w)) ||
    opts.find(o => norm(o.text).includes(w));
  return hit ? hit.value : null;
}
"""

FOCUSED_FIELD = r"""
() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  const editable = el && (el.isContentEditable || el.tagName === "TEXTAREA" ||
    (el.tagName === "INPUT" && !["button","submit","reset","checkbox","radio","image","hidden","file"].includes(el.type)));
  return editable ? el : null;
}
"""

FIELD_VALUE = "el => el.isContentEditable ? el.innerText : el.value"
# Marks every element that shows a secret (as text or as a field's value) so screenshots mask it.
MARK_SECRETS = r"""
(values) => {
  const shows = s => values.some(v => s && s.includes(v));
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode())
    if (shows(n.textContent) && n.parentElement) n.parentElement.setAttribute("data-molmo-secret", "");
  for (const el of document.querySelectorAll("input, textarea, [contenteditable]"))
    if (shows(el.value) || (el.isContentEditable && shows(el.innerText))) el.setAttribute("data-molmo-secret", "");
}
"""
