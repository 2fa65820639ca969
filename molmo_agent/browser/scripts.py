"""JavaScript run inside the page. Kept apart so the Python around it stays readable."""

# Readies the page for the screenshot that follows, as Playwright's screenshots with animations="disabled"
# do: finite animations and transitions jump to their end (a dialog fading in is shown where it is going,
# not half there) and the text caret is hidden (it blinks: two screenshots of an unchanged page would
# differ). Run by SETTLE after an action, and by OBSERVE for a look with no action before it.
READY = r"""
() => {
  const ready = doc => {
    for (const a of doc.getAnimations()) {
      try {
        const t = a.effect && a.effect.getComputedTiming();
        if (a.playState === "running" && t && t.endTime !== Infinity) a.finish();
      } catch (e) {}  // an animation that cannot be finished is left running
    }
    if (!doc.getElementById("molmo-caret") && doc.documentElement) {
      const style = doc.createElement("style");
      style.id = "molmo-caret";
      style.textContent = "* { caret-color: transparent !important; }";
      (doc.head || doc.documentElement).appendChild(style);
    }
  };
  ready(document);
  for (const frame of document.querySelectorAll("iframe")) {
    try { if (frame.contentDocument) ready(frame.contentDocument); } catch (e) {}  // cross-origin: not ours
  }
}
"""

# Page facts for one observation, in one round trip: the title, a fingerprint of the document's content
# (to tell whether an action changed anything) and, when a pointer needs them, the visible elements. The
# fingerprint is a hash of the HTML, worked out again only after the page's DOM changed (WATCH_PAGE counts
# the mutations): a step that changes nothing pays nothing for it. It returns at once, so it may run while
# a screenshot is under way.
FACTS = r"""
(withElements) => {
  const mutations = window.__molmoMutations;
  if (mutations === undefined || window.__molmoSignedAt !== mutations) {
    const html = document.documentElement ? document.documentElement.outerHTML : "";
    let h = 0x811c9dc5;
    for (let i = 0; i < html.length; i++) { h ^= html.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    window.__molmoSignature = (h >>> 0).toString(16) + ":" + html.length;
    window.__molmoSignedAt = mutations;
  }
  return {title: document.title, signature: window.__molmoSignature, elements: withElements ? (%s)() : []};
}
"""

# How the page names an element: its role (explicit or implicit) and its accessible name, roughly as
# assistive technology reads them.
_NAMING = r"""
  const clean = s => (s || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const editable = el => el.isContentEditable ||
    (el.tagName === "INPUT" && !["button","submit","reset","checkbox","radio","image","hidden","file"].includes(el.type)) ||
    el.tagName === "TEXTAREA";
  const interactive = el => /^(A|BUTTON|INPUT|SELECT|TEXTAREA|LABEL|SUMMARY|OPTION)$/.test(el.tagName) ||
    el.hasAttribute("role") || el.hasAttribute("onclick") || el.hasAttribute("tabindex");
  const TEXT_TYPES = ["text","search","email","url","tel","password","number",""];
  const implicitRole = el => {
    const t = el.tagName, type = t === "INPUT" ? (el.type || "").toLowerCase() : "";  // the browser's reading
    if (t === "BUTTON" || (t === "INPUT" && ["button","submit","reset","image"].includes(type))) return "button";
    if (t === "A" && el.hasAttribute("href")) return "link";
    if (t === "INPUT" && type === "checkbox") return "checkbox";
    if (t === "INPUT" && type === "radio") return "radio";
    if (t === "SELECT") return el.multiple || el.size > 1 ? "listbox" : "combobox";
    if (t === "TEXTAREA" || (t === "INPUT" && TEXT_TYPES.includes(type))) return "textbox";
    if (t === "INPUT") return type;
    return null;
  };
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
"""

# Visible elements with an accessible name.
ELEMENTS = r"""
() => {
  const vw = innerWidth, vh = innerHeight, out = [];
%s  // Walks open shadow roots and same-origin iframes too; boxes are in the top page's CSS pixels.
  const collect = (root, dx, dy, hits) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) collect(el.shadowRoot, dx, dy, hits);
      if (el.tagName === "IFRAME") {
        let doc = null;
        try { doc = el.contentDocument; } catch (e) {}
        if (doc && doc.body) {
          const f = el.getBoundingClientRect();
          const ox = dx + f.left + el.clientLeft, oy = dy + f.top + el.clientTop;
          collect(doc.body, ox, oy, (x, y) => hits(x, y) === el ? doc.elementFromPoint(x - ox, y - oy) : null);
        }
        continue;
      }
      if (el.closest("head") || /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE)$/.test(el.tagName)) continue;
      if (!interactive(el) && !ownText(el)) continue;
      if (!interactive(el) && el.querySelector(":scope > input, :scope > select, :scope > textarea")) {
        // "First name <input> Last name <input>": each run of text is a label of its own, with its own box.
        for (const node of el.childNodes) {
          const text = node.nodeType === 3 ? clean(node.textContent) : "";
          if (!text) continue;
          const range = node.ownerDocument.createRange();
          range.selectNodeContents(node);
          const r = range.getBoundingClientRect(), left = r.left + dx, top = r.top + dy;
          if (r.width < 1 || r.height < 1 || left >= vw || top >= vh || left + r.width <= 0 || top + r.height <= 0) continue;
          const hit = hits(Math.min(left + r.width / 2, vw - 1), Math.min(top + r.height / 2, vh - 1));
          out.push({tag: el.tagName.toLowerCase(), role: null, name: text, box: {x: left, y: top, width: r.width, height: r.height},
                    editable: false, on_top: !!hit && (hit === el || el.contains(hit))});
        }
        continue;
      }
      const r = el.getBoundingClientRect();
      const left = r.left + dx, top = r.top + dy;
      if (r.width < 1 || r.height < 1 || left + r.width <= 0 || top + r.height <= 0 || left >= vw || top >= vh) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.opacity === "0") continue;
      const name = nameOf(el);
      if (!name && !editable(el) && el.tagName !== "SELECT") continue;
      const cx = Math.min(Math.max(left + r.width / 2, 0), vw - 1), cy = Math.min(Math.max(top + r.height / 2, 0), vh - 1);
      let hit = hits(cx, cy);
      while (hit && hit.shadowRoot && hit !== el) {  // a shadow host hides what was hit inside it
        const inner = hit.shadowRoot.elementFromPoint(cx - dx, cy - dy);
        if (!inner || inner === hit) break;
        hit = inner;
      }
      out.push({
        tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || implicitRole(el), name,
        box: {x: left, y: top, width: r.width, height: r.height},
        editable: editable(el), on_top: !!hit && (hit === el || el.contains(hit) || hit.contains(el)),
      });
    }
  };
  const root = document.body || document.documentElement;  // none in a document that has only just begun
  if (root) collect(root, 0, 0, (x, y) => document.elementFromPoint(x, y));
  return out;
}
"""

ELEMENTS = ELEMENTS % _NAMING
FACTS = FACTS % ELEMENTS.strip()

# A look with no action before it: the page readied, then its facts, in one round trip.
OBSERVE = "(withElements) => { (%s)(); return (%s)(withElements); }" % (READY.strip(), FACTS.strip())

# Counts the new tabs a page asks for, so the agent knows to wait for one (they arrive late), notes when
# the page starts to unload, so a navigation is waited for even before its request is seen, and counts the
# DOM's changes, so that OBSERVE hashes the document only when it changed (ours do not count: the caret's
# style, the marks on secrets).
WATCH_PAGE = r"""
(() => {
  if (window.__molmoWatching) return;
  window.__molmoWatching = true;
  window.addEventListener("beforeunload", () => { window.__molmoLeaving = true; });
  // A form's submission navigates a task or two after its click, after the settle script may have looked:
  // a submission no handler stopped (seen once everything ran, as the last listener) is the page leaving.
  window.addEventListener("submit", (e) => { window.__molmoSubmit = e; });
  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function () { window.__molmoSubmit = {target: this}; return submit.call(this); };
  const mark = () => { window.__molmoPopups = (window.__molmoPopups || 0) + 1; };
  const open = window.open;
  window.open = function (...args) { mark(); return open.apply(this, args); };
  window.addEventListener("click", (e) => {
    const link = e.target && e.target.closest ? e.target.closest("a[target]") : null;
    if (link && !e.defaultPrevented && !["_self", "_top", "_parent", ""].includes(link.target)) mark();
  });
  window.__molmoMutations = 0;
  const ours = m => m.type === "attributes" ? m.attributeName.startsWith("data-molmo")
    : m.type === "childList" && [...m.addedNodes, ...m.removedNodes].every(n => n.id === "molmo-caret");
  new MutationObserver(records => {
    if (!records.every(ours)) window.__molmoMutations++;
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""

# Lets the tasks an input event queued run; says how many tabs the page asked to open meanwhile and
# whether it is unloading, and readies the page for the screenshot (READY), all in one round trip: between
# an action and its screenshot the loop waits on nothing else (the facts are read while the screenshot is
# under way). The promise is resolved whatever READY meets: an exception in a timer's callback would leave it
# pending, and Playwright's evaluate waits on it for ever (a document that has just committed, with no root
# element yet, once hung a whole CI run).
SETTLE = r"""
() => new Promise(r => setTimeout(() => {
  const popups = window.__molmoPopups || 0;
  window.__molmoPopups = 0;
  const sent = window.__molmoSubmit, form = sent && sent.target;
  window.__molmoSubmit = null;
  if (form && !sent.defaultPrevented && ["", "_self"].includes(form.target || "") &&
      ((sent.submitter && sent.submitter.getAttribute("formmethod")) || form.method) !== "dialog") {
    window.__molmoLeaving = true;
  }
  let ready = false;
  try { (%s)(); ready = true; } catch (e) {}
  r({popups, leaving: !!window.__molmoLeaving, ready});
}, 0))
""" % READY.strip()

LEAVING = "() => !!window.__molmoLeaving"

# A wheel's scroll reaches the page a frame or more after Playwright's wheel returns (later on a busy
# machine, and a smooth scroll takes several): set before the wheel, SCROLLED resolves once the page has
# scrolled and two frames passed with no more scrolling, or after 400 ms with none (an end of the page).
WATCH_SCROLL = r"""
() => {
  window.__molmoScrolled = new Promise(resolve => {
    let frames = 0, scrolled = false;
    const end = (result) => { removeEventListener("scroll", seen, true); resolve(result); };
    const seen = () => { frames = 0; if (!scrolled) { scrolled = true; requestAnimationFrame(tick); } };
    const tick = () => { if (++frames >= 2) end(true); else requestAnimationFrame(tick); };
    addEventListener("scroll", seen, true);
    setTimeout(() => { if (!scrolled) end(false); }, 400);
    setTimeout(() => end(true), 1500);
  });
}
"""
SCROLLED = "() => window.__molmoScrolled"

# The element at a point, looking into open shadow roots and same-origin iframes.
_DEEP_HIT = r"""
  const deepHit = (x, y) => {
    let el = document.elementFromPoint(x, y), ox = 0, oy = 0;
    for (let depth = 0; el && depth < 10; depth++) {
      let inner = null;
      if (el.shadowRoot) inner = el.shadowRoot.elementFromPoint(x - ox, y - oy);
      else if (el.tagName === "IFRAME") {
        try {
          const r = el.getBoundingClientRect();
          ox += r.left + el.clientLeft; oy += r.top + el.clientTop;
          inner = el.contentDocument.elementFromPoint(x - ox, y - oy);
        } catch (e) {}
      }
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
"""

# Chooses an option of the <select> a point refers to (the select itself, a label's control, or the select
# next to it), in one round trip: the option whose text best matches `wanted` (exact, then case-insensitive,
# then its value, then a prefix, then a part) is selected and the list fires `input` and `change`, as a
# person's choice does. Returns {chosen: value} or {missing: what is missing}.
SELECT_OPTION = r"""
([x, y, wanted]) => {""" + _DEEP_HIT + r"""
  let select = null;
  for (let el = deepHit(x, y), up = 0; el && up < 4 && !select; up++, el = el.parentElement) {
    if (el.tagName === "SELECT") select = el;
    else if (el.tagName === "LABEL" && el.control && el.control.tagName === "SELECT") select = el.control;
    else if (el.querySelectorAll("select").length === 1) select = el.querySelector("select");
  }
  if (!select) return {missing: "select"};
  if (select.disabled) return {missing: "enabled"};
  const norm = s => s.replace(/\s+/g, " ").trim().toLowerCase();
  const opts = Array.from(select.options), w = norm(wanted);
  const hit = opts.find(o => o.text.trim() === wanted.trim()) || opts.find(o => norm(o.text) === w) ||
    opts.find(o => norm(o.value) === w) || opts.find(o => norm(o.text).startsWith(w)) ||
    opts.find(o => norm(o.text).includes(w));
  if (!hit) return {missing: "option"};
  if (!select.multiple) opts.forEach(o => { o.selected = false; });
  hit.selected = true;
  select.dispatchEvent(new Event("input", {bubbles: true, composed: true}));
  select.dispatchEvent(new Event("change", {bubbles: true}));
  return {chosen: hit.value};
}
"""

_DEEP_FOCUS = r"""
  const deepFocus = () => {  // the focused element, inside open shadow roots and same-origin frames
    let el = document.activeElement;
    for (let depth = 0; el && depth < 10; depth++) {
      let inner = null;
      if (el.shadowRoot) inner = el.shadowRoot.activeElement;
      else if (el.tagName === "IFRAME") { try { inner = el.contentDocument.activeElement; } catch (e) {} }
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
"""

# The field typing goes into: the focused element, if it takes text. It is kept for the calls that follow
# (TYPED_INTO, TYPED_VALUE), so that typing asks the page two short questions and holds no handle; the
# answer is what typing needs to know first: the field's type attribute and whether it holds anything, or
# null when nothing editable has focus. With `clear`, what the field holds is selected, so that the keys
# typed next replace it, as a person's do after Ctrl+A (no round trip of its own to empty the field).
TYPING_INTO = r"""
(clear) => {""" + _DEEP_FOCUS + r"""
  const el = deepFocus();
  const editable = el && (el.isContentEditable || el.tagName === "TEXTAREA" ||
    (el.tagName === "INPUT" && !["button","submit","reset","checkbox","radio","image","hidden","file"].includes(el.type)));
  window.__molmoTypingInto = editable ? el : null;
  if (!editable) return null;
  const filled = (el.isContentEditable ? el.innerText : el.value) !== "";
  let selected = false;
  if (clear && filled) {
    try {
      if (el.isContentEditable) el.ownerDocument.getSelection().selectAllChildren(el); else el.select();
      selected = true;
    } catch (e) {}  // a field that cannot be selected is emptied by fill instead
  }
  return {type: (el.getAttribute("type") || "").toLowerCase(), filled, selected};
}
"""
TYPED_INTO = "() => window.__molmoTypingInto"
TYPED_VALUE = r"""
() => {
  const el = window.__molmoTypingInto;
  return el ? (el.isContentEditable ? el.innerText : el.value) : null;
}
"""
# Marks every element that shows a secret (as text or as a field's value) so screenshots mask it.
MARK_SECRETS = r"""
(values) => {
  // Runs in every frame; walks open shadow roots, where a page can show a secret as well.
  const shows = s => values.some(v => s && s.includes(v));
  const mark = root => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode())
      if (shows(n.textContent) && n.parentElement) n.parentElement.setAttribute("data-molmo-secret", "");
    for (const el of root.querySelectorAll("*")) {
      if ((el.matches("input, textarea") && shows(el.value)) || (el.isContentEditable && shows(el.innerText)))
        el.setAttribute("data-molmo-secret", "");
      if (el.shadowRoot) mark(el.shadowRoot);
    }
  };
  const root = document.body || document.documentElement;
  if (root) mark(root);
}
"""

# For success checks: the page's visible text, and the state of the element a selector names.
VISIBLE_TEXT = "() => document.body ? document.body.innerText : ''"

ELEMENT_STATE = r"""
([selector, state]) => {
  const el = document.querySelector(selector);
  if (state === "exists") return !!el;
  const shown = !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  return {visible: shown, hidden: !shown, checked: !!el && el.checked === true, unchecked: !!el && el.checked === false,
          enabled: !!el && !el.disabled, disabled: !!el && el.disabled === true}[state];
}
"""

# What is at a point, as the page names it: the nearest element that can be acted on (else the one hit).
ELEMENT_AT = r"""
([x, y]) => {""" + _DEEP_HIT + _NAMING + r"""
  const hit = deepHit(x, y);
  if (!hit) return null;
  let el = hit;
  while (el && !interactive(el) && el.parentElement) el = el.parentElement;
  if (!el || !interactive(el)) el = hit;
  return {tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || implicitRole(el), name: nameOf(el)};
}
"""

FOCUSED_ELEMENT = r"""
() => {""" + _NAMING + _DEEP_FOCUS + r"""
  const el = deepFocus();
  if (!el || el === document.body || el === document.documentElement) return null;
  return {tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || implicitRole(el), name: nameOf(el)};
}
"""

# `record`: what a person does, told to Python through the `__molmoRecord` binding, one JSON event each:
# click / dblclick (a point, the element acted on), typing (started, then the field's value when focus
# leaves it or Enter is pressed), a <select>'s choice, Enter and Escape, the document scrolled (once it rests),
# how a document was reached (navigate or back_forward), a tab shown, and the end key (Ctrl+Shift+Enter).
# A secret field (a password, or one named by --secret NAME) never sends its value: it is marked for masking.
# Filled in with the secret names: RECORDER % json.dumps(names).
RECORDER = r"""
(() => {
  if (window.__molmoRecording || !window.__molmoRecord) return;
  window.__molmoRecording = true;
  const SECRET_NAMES = %s;""" + _NAMING + r"""
  const send = e => { try { window.__molmoRecord(JSON.stringify(e)); } catch (err) {} };
  const pick = el => {
    let up = el;
    while (up && !interactive(up) && up.parentElement) up = up.parentElement;
    if (!up || !interactive(up)) up = el;
    if (up.tagName === "LABEL" && up.control) return {el: up.control, name: clean(up.innerText) || nameOf(up.control)};
    return {el: up, name: nameOf(up)};
  };
  const secretOf = el => {
    if (!el || !editable(el)) return null;
    const words = [nameOf(el), el.name, el.id, el.placeholder].join(" ").toLowerCase();
    const named = SECRET_NAMES.find(n => words.includes(n.toLowerCase()));
    if (named) return named;
    return el.type === "password" ? "PASSWORD" : null;
  };
  const describe = (el, name) => {
    const r = el.getBoundingClientRect();
    if (!el.__molmoId) el.__molmoId = Math.random().toString(36).slice(2);
    const secret = secretOf(el);
    if (secret) el.setAttribute("data-molmo-secret", "");
    return {tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || implicitRole(el), name,
            id: el.__molmoId, field: editable(el) || el.tagName === "SELECT", secret,
            box: {x: r.left, y: r.top, width: r.width, height: r.height}};
  };
  const valueOf = el => el.isContentEditable ? el.innerText : el.value;
  let typing = null;  // {el, before, started}
  const flush = () => {
    if (!typing) return;
    const {el, before, started} = typing;
    typing = null;
    if (!started || valueOf(el) === before) return;
    const info = describe(el, nameOf(el));
    send({kind: "typed", element: info, value: info.secret ? null : valueOf(el)});
  };
  document.addEventListener("focusin", e => {
    const el = e.composedPath()[0];
    if (!el || !editable(el)) return;
    flush();
    typing = {el, before: valueOf(el), started: false};
    if (secretOf(el)) el.setAttribute("data-molmo-secret", "");  // masked from the first look on
  }, true);
  document.addEventListener("focusout", e => { if (typing && e.composedPath()[0] === typing.el) flush(); }, true);
  document.addEventListener("input", e => {
    const el = e.composedPath()[0];
    if (!el || !editable(el)) return;
    if (!typing || typing.el !== el) { flush(); typing = {el, before: "", started: false}; }
    if (!typing.started) { typing.started = true; send({kind: "typing", element: describe(el, nameOf(el))}); }
  }, true);
  document.addEventListener("change", e => {
    const el = e.composedPath()[0];
    if (!el || el.tagName !== "SELECT" || !el.selectedOptions.length) return;
    el.__molmoChosenAt = Date.now();  // the click a pop-up's choice passes on to its select follows
    send({kind: "select", element: describe(el, nameOf(el)), option: clean(el.selectedOptions[0].text)});
  }, true);
  let passedOn = null;  // the control a label's click is passed on to, within the same task
  document.addEventListener("click", e => {
    if (!e.isTrusted || e.detail > 1) return;  // a page's own clicks, and the second of a double click
    const {el, name} = pick(e.composedPath()[0] || e.target);
    if (el === passedOn || (el.tagName === "SELECT" && Date.now() - (el.__molmoChosenAt || 0) < 500)) return;
    const label = e.composedPath().find(n => n.tagName === "LABEL");
    if (label && label.control) { passedOn = label.control; setTimeout(() => { passedOn = null; }, 0); }
    send({kind: "click", x: e.clientX, y: e.clientY, button: ["left", "middle", "right"][e.button] || "left",
          element: describe(el, name)});
  }, true);
  document.addEventListener("dblclick", e => {
    if (!e.isTrusted) return;
    const {el, name} = pick(e.composedPath()[0] || e.target);
    send({kind: "dblclick", x: e.clientX, y: e.clientY, element: describe(el, name)});
  }, true);
  document.addEventListener("keydown", e => {
    if (!e.isTrusted) return;
    if (e.key === "Enter" && e.ctrlKey && e.shiftKey) { flush(); send({kind: "end"}); e.preventDefault(); return; }
    const on = e.composedPath()[0];
    if ((e.key === "Enter" || e.key === "Escape") && !(on && on.tagName === "SELECT")) {  // not a pop-up's choice
      flush();
      send({kind: "key", key: e.key});
    }
  }, true);
  let rest = null, moving = false, at = {x: scrollX, y: scrollY};  // where the document last rested
  window.addEventListener("scroll", e => {
    if (e.target !== document) return;  // the document, not a box inside it
    if (!moving) { moving = true; send({kind: "scrolling"}); }
    clearTimeout(rest);
    rest = setTimeout(() => {
      const dx = scrollX - at.x, dy = scrollY - at.y;
      moving = false;
      at = {x: scrollX, y: scrollY};
      if (dx || dy) send({kind: "scroll", dx, dy});
    }, 400);
  }, true);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && window === window.top) send({kind: "shown"}); });
  if (window === window.top) {
    const nav = performance.getEntriesByType("navigation")[0];
    send({kind: "loaded", how: nav ? nav.type : "navigate", url: location.href});
  }
})();
"""
