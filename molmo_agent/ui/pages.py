"""The app's pages, rendered on the server: everything a page or a model wrote is escaped, and the only script
is the app's own (a nonce lets it run under the Content-Security-Policy)."""

import html
from pathlib import Path
from urllib.parse import quote

from ..errors import MolmoAgentError
from ..language.steps import to_step
from ..report import STYLE, judgments_html, overlay_svg, step_rows
from ..trace import StepRecord, Trace
from .folders import Library, RunInfo, eval_state

DIVERGED_PX = 16.0  # two points this far apart (CSS px) are on different targets
LIVE_POLL_S = 0.25

UI_STYLE = STYLE + """
nav.top { padding: 8px 24px; background: #0f2a4d; } nav.top a { color: #fff; margin-right: 16px; }
form.filters { margin: 12px 24px; display: flex; gap: 8px; flex-wrap: wrap; }
.run-view { display: grid; grid-template-columns: 220px minmax(0, 1fr); gap: 12px; margin: 12px 24px; }
.steps-list { display: flex; flex-direction: column; gap: 3px; max-height: 85vh; overflow: auto; }
.steps-list a { font-size: 12px; padding: 3px 6px; border-radius: 4px; color: #1d2433; text-decoration: none; }
.steps-list a.current { background: #173b6c; color: #fff; } .steps-list a.failed { border-left: 4px solid #cf222e; }
.ui-step { display: none; } .ui-step.current { display: grid; }
.ui-step { background: #fff; padding: 12px; border-radius: 8px; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 14px; }
.diverged td { background: #ffebe9; } .first-divergence td { outline: 2px solid #cf222e; }
.point-a { fill: rgba(255, 0, 128, .35); stroke: #ff0080; stroke-width: 3; }
.point-b { fill: rgba(0, 140, 255, .35); stroke: #008cff; stroke-width: 3; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin: 12px 24px; }
.live-dot { color: #2da44e; font-weight: bold; }
body > h2, body > p, body > img, body > ul, #live > * { margin-left: 24px; margin-right: 24px; }
"""

RUN_SCRIPT = """
const panels = () => [...document.querySelectorAll('.ui-step')];
const chips = () => [...document.querySelectorAll('.steps-list a')];
let current = 0, following = true;
function show(i) {
  const all = panels();
  if (!all.length) return;
  current = Math.max(0, Math.min(i, all.length - 1));
  following = current === all.length - 1;
  all.forEach((p, k) => p.classList.toggle('current', k === current));
  chips().forEach((c, k) => c.classList.toggle('current', k === current));
}
document.addEventListener('keydown', e => {
  if (['ArrowRight', 'ArrowDown'].includes(e.key)) { show(current + 1); e.preventDefault(); }
  if (['ArrowLeft', 'ArrowUp'].includes(e.key)) { show(current - 1); e.preventDefault(); }
});
document.querySelector('.steps-list').addEventListener('click', e => {
  const chip = e.target.closest('a'); if (!chip) return;
  e.preventDefault(); show(chips().indexOf(chip));
});
show(0);
const live = document.body.dataset.live;
if (live) {
  const source = new EventSource(live);
  source.addEventListener('step', e => {
    const step = JSON.parse(e.data), follow = following;
    document.querySelector('.steps-list').insertAdjacentHTML('beforeend', step.chip);
    document.querySelector('.panels').insertAdjacentHTML('beforeend', step.panel);
    if (follow) show(panels().length - 1); else show(current);
  });
  source.addEventListener('end', e => {
    document.getElementById('status').innerHTML = JSON.parse(e.data).html; source.close();
  });
}
"""

EVAL_SCRIPT = """
const live = document.body.dataset.live;
if (live) {
  const source = new EventSource(live);
  source.addEventListener('progress', e => {
    const update = JSON.parse(e.data);
    document.getElementById('live').innerHTML = update.html;
    if (update.finished) source.close();
  });
}
"""


def _e(value) -> str:
    return html.escape(str(value if value is not None else ""))


def _page(title: str, body: str, nonce: str, *, script: str = "", live: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<style nonce="{nonce}">{UI_STYLE}</style></head><body data-live="{_e(live)}">'
            f'<nav class="top"><a href="/">runs and evals</a></nav>{body}'
            + (f'<script nonce="{nonce}">{script}</script>' if script else "") + "</body></html>")


def _status(status: str) -> str:
    return f"<span class='status-{_e(status)}'>{_e(status)}</span>"


def _shot_url(library: Library, trace: Trace, relative: str) -> str:
    return "/file/" + quote(library.ref(trace.screenshot_path(relative)))


def said(step: StepRecord) -> str:
    """The step as a person writes it, where the step language can say it."""
    return to_step(step.intent) or step.intent.describe()


def step_chip(step: StepRecord) -> str:
    failed = " failed" if not step.outcome.ok else ""
    return f'<a class="chip{failed}" href="#step-{step.index}" data-index="{step.index}">{step.index}. {_e(said(step))}</a>'


def step_panel(library: Library, trace: Trace, step: StepRecord) -> str:
    """A step as the report shows it: the screenshot with the point and what the pointer saw, then the rest."""
    return (f'<section class="ui-step" id="step-{step.index}" data-index="{step.index}"><div class="shot">'
            f'<img alt="step {step.index}" src="{_shot_url(library, trace, step.observation.screenshot)}">'
            f'{overlay_svg(step, trace.header.viewport)}</div><div>{step_rows(step)}</div></section>')


def end_html(trace: Trace) -> str:
    end = trace.end
    if end is None:
        return f"{_status('running')} <span class='live-dot'>&#9679;</span> (or stopped without an end record)"
    text = f"{_status(end.status)} after {end.steps} steps in {end.seconds:.1f}s"
    return text + (f": {_e(end.reason)}" if end.reason else "") + (f"; answer: {_e(end.answer)}" if end.answer else "")


def list_page(library: Library, query: dict, nonce: str) -> str:
    runs = library.runs()
    wanted = {k: (query.get(k) or "").strip().lower() for k in ("status", "q", "task", "site", "verdict")}

    def keep(r: RunInfo) -> bool:
        text = f"{r.trace.header.goal} {r.ref} {r.trace.end.reason if r.trace.end else ''}".lower()
        return ((not wanted["status"] or r.trace.status == wanted["status"]) and wanted["q"] in text
                and wanted["task"] in r.task.lower() and wanted["site"] in r.site.lower()
                and (not wanted["verdict"] or r.verdict == wanted["verdict"]))

    shown = [r for r in runs if keep(r)]
    rows = "".join(
        f"<tr class='run'><td>{_e(r.trace.header.created_at[:19])}</td><td>{_status(r.trace.status)}</td>"
        f"<td><a href='/run/{quote(r.ref)}'>{_e(r.trace.header.goal[:120])}</a></td><td>{_e(r.task)}</td>"
        f"<td>{_e(r.site)}</td><td>{_e(r.trace.header.policy)}</td><td>{_e(r.trace.header.pointer.get('name', ''))}</td>"
        f"<td>{len(r.trace.steps)}</td><td>{'' if r.seconds is None else f'{r.seconds:.1f}s'}</td>"
        f"<td>{_e(r.verdict)}</td><td>{f'<a href=/eval/{quote(r.eval_ref)}>eval</a>' if r.eval_ref else ''}</td></tr>"
        for r in shown)
    evals = "".join(
        f"<tr class='eval'><td><a href='/eval/{quote(library.ref(d))}'>{_e(library.ref(d))}</a></td>"
        f"<td>{_e(eval_state(d)['line'])}</td></tr>"
        for d in sorted(library.eval_dirs(), key=lambda d: d.stat().st_mtime, reverse=True))
    options = "".join(f"<option{' selected' if wanted['status'] == s else ''}>{s}</option>"
                      for s in ("", "success", "failed", "error", "interrupted", "incomplete"))
    filters = (f"<form class='filters' method='get' action='/'><select name='status'>{options}</select>"
               + "".join(f"<input name='{k}' placeholder='{k if k != 'q' else 'text'}' value='{_e(query.get(k) or '')}'>"
                         for k in ("q", "task", "site", "verdict")) + "<button>filter</button></form>")
    body = (f"<header><h1>Runs and evals</h1><div class='meta'>{len(shown)} of {len(runs)} runs under "
            f"{_e(', '.join(str(r) for r in library.roots))}</div></header>"
            + (f"<table><tr><th>eval</th><th>progress</th></tr>{evals}</table>" if evals else "") + filters
            + "<table><tr><th>started</th><th>status</th><th>goal</th><th>task</th><th>site</th><th>policy</th>"
            f"<th>pointer</th><th>steps</th><th>time</th><th>verdict</th><th></th></tr>{rows}</table>")
    return _page("molmo-agent runs", body, nonce)


def run_page(library: Library, run_dir: Path, nonce: str) -> str:
    trace = library.trace(run_dir)
    ref, h = library.ref(run_dir), trace.header
    chips = "".join(step_chip(s) for s in trace.steps)
    panels = "".join(step_panel(library, trace, s) for s in trace.steps)
    final = ""
    if trace.end is not None and trace.end.final_screenshot:
        final = (f"<p>final page ({_e(trace.end.final_url or '')}):</p><img class='final' alt='final' width='640' "
                 f"src='{_shot_url(library, trace, trace.end.final_screenshot)}'>")
    body = (f"<header><h1>{_e(h.goal)}</h1><div class='meta'><span id='status'>{end_html(trace)}</span><br>"
            f"policy {_e(h.policy)}, pointer {_e(h.pointer.get('name', '?'))}, {h.viewport[0]}x{h.viewport[1]} at "
            f"scale {h.scale}, started {_e(h.start_url or '')} at {_e(h.created_at)}. Arrow keys move between "
            f"steps. <a href='/compare?a={quote(ref)}'>compare with...</a></div></header>{judgments_html(trace)}"
            f"<div class='run-view'><div class='steps-list'>{chips}</div><div class='panels'>{panels}</div></div>{final}")
    live = f"/live/run/{quote(ref)}?shown={len(trace.steps)}" if trace.end is None else ""
    return _page(h.goal, body, nonce, script=RUN_SCRIPT, live=live)


def eval_live_html(library: Library, eval_dir: Path) -> tuple[str, bool]:
    state = eval_state(eval_dir)
    done_dirs = {(eval_dir / r["trace"]).resolve() for r in state["rows"] if r.get("trace")}
    running = []
    for run_dir in library.run_dirs():
        if run_dir.is_relative_to(eval_dir) and run_dir not in done_dirs:
            try:
                trace = library.trace(run_dir)
            except (MolmoAgentError, OSError):
                continue
            if trace.end is None:
                running.append((run_dir, trace))
    now = "".join(
        f"<div class='running'><a href='/run/{quote(library.ref(d))}'>{_e(t.header.goal[:100])}</a>, step "
        f"{len(t.steps)}" + (f"<br><img alt='newest' width='480' src='{_shot_url(library, t, t.steps[-1].observation.screenshot)}'>"
                             if t.steps else "") + "</div>" for d, t in running)
    rows = "".join(
        f"<tr><td>{_e(r.get('task'))}</td><td>{_e('' if r.get('seed') is None else r.get('seed'))}</td>"
        f"<td class='status-{'success' if r.get('success') else 'failed'}'>{'pass' if r.get('success') else 'fail'}</td>"
        f"<td>{_e(r.get('steps'))}</td><td>{_e(r.get('verdict') or '')}</td><td>"
        + (f"<a href='/run/{quote(library.ref((eval_dir / r['trace']).resolve()))}'>steps</a>" if r.get("trace") else "")
        + f"</td><td>{_e(r.get('reason') or '')}</td></tr>" for r in state["rows"])
    scores = ""
    if state["summary"] and (s := state["summary"].get("scores")):
        scores = f"<div>pass@1 {s['overall']['pass@1']:.1%}</div>"
    return (f"<div class='progress'>{_e(state['line'])}</div>{scores}{now}<table><tr><th>task</th><th>seed</th>"
            f"<th>result</th><th>steps</th><th>verdict</th><th></th><th>reason</th></tr>{rows}</table>",
            state["finished"])


def eval_page(library: Library, eval_dir: Path, nonce: str) -> str:
    live, finished = eval_live_html(library, eval_dir)
    ref = library.ref(eval_dir)
    body = f"<header><h1>eval {_e(ref)}</h1></header><div id='live'>{live}</div>"
    return _page(f"eval {ref}", body, nonce, script=EVAL_SCRIPT, live="" if finished else f"/live/eval/{quote(ref)}")


# -- comparing two runs ---------------------------------------------------------------------------------------
def _point(step: StepRecord | None) -> tuple[float, float] | None:
    action = step.action if step is not None else None
    x, y = getattr(action, "x", None), getattr(action, "y", None)
    return (x, y) if x is not None and y is not None else None


def differences(a: StepRecord | None, b: StepRecord | None) -> list[str]:
    """Why two steps at the same place in two runs are not the same step (empty when they are)."""
    if a is None or b is None:
        return [f"only in {'A' if b is None else 'B'}"]
    found = []
    if said(a) != said(b):
        found.append("a different step")
    pa, pb = _point(a), _point(b)
    if pa and pb and ((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2) ** 0.5 > DIVERGED_PX:
        found.append(f"pointed {((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2) ** 0.5:.0f} px apart")
    elif (pa is None) != (pb is None):
        found.append("pointed in one run only")
    if a.outcome.ok != b.outcome.ok:
        found.append(f"{'A' if a.outcome.ok else 'B'} succeeded, the other failed")
    return found


def _both_points_svg(a: StepRecord | None, b: StepRecord | None, viewport: tuple[int, int]) -> str:
    marks = [f'<circle class="point-{name}" cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="14"/>'
             for name, step in (("a", a), ("b", b)) if (p := _point(step))]
    return f'<svg viewBox="0 0 {viewport[0]} {viewport[1]}">{"".join(marks)}</svg>'


def compare_page(library: Library, dir_a: Path, dir_b: Path | None, nonce: str) -> str:
    a = library.trace(dir_a)
    if dir_b is None:  # choose the second run
        options = "".join(f"<li><a href='/compare?a={quote(library.ref(dir_a))}&b={quote(r.ref)}'>"
                          f"{_e(r.trace.header.goal[:100])}</a> ({_e(r.ref)}, {_status(r.trace.status)})</li>"
                          for r in library.runs() if r.trace.dir.resolve() != dir_a)
        return _page("compare", f"<header><h1>Compare {_e(a.header.goal)} with...</h1></header><ul>{options}</ul>", nonce)
    b = library.trace(dir_b)
    count = max(len(a.steps), len(b.steps))
    pairs = [(a.steps[i] if i < len(a.steps) else None, b.steps[i] if i < len(b.steps) else None) for i in range(count)]
    found = [differences(x, y) for x, y in pairs]
    first = next((i for i, d in enumerate(found) if d), None)
    rows = "".join(
        f"<tr class='{'diverged' if d else 'same'}{' first-divergence' if i == first else ''}' data-step='{i + 1}'>"
        f"<td>{i + 1}</td><td>{_e(said(x) if x else '')}</td><td>{_e(said(y) if y else '')}</td>"
        f"<td>{_e('; '.join(d) or 'same')}</td></tr>" for i, ((x, y), d) in enumerate(zip(pairs, found)))
    detail = "<p>The runs take the same steps at the same points.</p>"
    if first is not None:
        x, y = pairs[first]
        shots = "".join(
            f"<div><b>{name}</b>: {_e(said(step))}<div class='shot'><img alt='{name} step {first + 1}' "
            f"src='{_shot_url(library, trace, step.observation.screenshot)}'>"
            f"{_both_points_svg(x, y, trace.header.viewport)}</div></div>"
            for name, step, trace in (("A", x, a), ("B", y, b)) if step is not None)
        detail = (f"<h2 id='first-divergence'>They part at step {first + 1}: {_e('; '.join(found[first]))}</h2>"
                  f"<p>Pink: where A acted; blue: where B acted.</p><div class='pair'>{shots}</div>")
    body = (f"<header><h1>A: {_e(a.header.goal)}<br>B: {_e(b.header.goal)}</h1><div class='meta'>A "
            f"<a href='/run/{quote(library.ref(dir_a))}'>{_e(library.ref(dir_a))}</a> ({_status(a.status)}), B "
            f"<a href='/run/{quote(library.ref(dir_b))}'>{_e(library.ref(dir_b))}</a> ({_status(b.status)})</div></header>"
            f"{detail}<table><tr><th>step</th><th>A</th><th>B</th><th></th></tr>{rows}</table>")
    return _page("compare", body, nonce)
