"""`ui`: a local web app over trace folders. Runs and evals newest first, a run's steps beside its screenshots,
live progress while a run or eval writes its files, and two runs compared step by step.

Pages are rendered here on the server; the little script there is moves between steps and takes in live updates
(server-sent events that follow the trace files). Everything a page or a model wrote is shown as escaped text,
and the Content-Security-Policy lets only this app's own script run. Files are served only from under the
folders the app was given, and only screenshots.
"""

import asyncio
import hashlib
import hmac
import html
import json
import secrets as tokens
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from .errors import ConfigError, MolmoAgentError
from .language.steps import to_step
from .report import STYLE, overlay_svg, step_rows
from .serve import AppServer, answer_only_to, expected_hosts, is_loopback
from .trace import StepRecord, Trace, read_trace
from .trace.writer import TRACE_FILE

EVAL_FILES = ("results.jsonl", "summary.json", "planned.json")
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
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


@dataclass
class RunInfo:
    """One run directory as the list shows it."""

    ref: str
    trace: Trace
    task: str
    site: str
    verdict: str
    eval_ref: str | None

    @property
    def seconds(self) -> float | None:
        return self.trace.end.seconds if self.trace.end else None


class Library:
    """The trace folders the app was given: finds runs and evals, reads traces (cached until the file changes)
    and turns a reference from a URL back into a path, never one outside the folders."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(root).resolve() for root in roots]
        for root in self.roots:
            if not root.is_dir():
                raise ConfigError(f"{root} is not a folder; give ui the folders your runs and evals are in")
        self._traces: dict[Path, tuple[tuple[int, int], Trace]] = {}

    # -- references: "<root index>/<path inside it>" --------------------------------------------------------
    def ref(self, path: Path) -> str:
        path = path.resolve()
        for index, root in enumerate(self.roots):
            if path == root or path.is_relative_to(root):
                return f"{index}/{path.relative_to(root).as_posix()}".rstrip("/.")
        raise ValueError(f"{path} is outside the folders")

    def resolve(self, ref: str) -> Path:
        """The path a reference names; LookupError for anything outside the folders (`..`, an absolute path,
        a link that leads out)."""
        index, _, inside = ref.partition("/")
        relative = PurePosixPath(inside)
        if not index.isdigit() or int(index) >= len(self.roots) or relative.is_absolute() or ".." in relative.parts \
                or "\\" in inside or "\x00" in inside:
            raise LookupError(ref)
        root = self.roots[int(index)]
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise LookupError(ref)
        return path

    # -- reading --------------------------------------------------------------------------------------------
    def trace(self, run_dir: Path) -> Trace:
        file = run_dir / TRACE_FILE
        stat = file.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._traces.get(run_dir)
        if cached is None or cached[0] != key:
            cached = (key, read_trace(run_dir))
            self._traces[run_dir] = cached
        return cached[1]

    def run_dirs(self) -> list[Path]:
        return sorted({f.parent for root in self.roots for f in root.rglob(TRACE_FILE)})

    def eval_dirs(self) -> list[Path]:
        return sorted({f.parent for root in self.roots for name in EVAL_FILES for f in root.rglob(name)})

    def runs(self) -> list[RunInfo]:
        evals = {d: _results_by_trace(d) for d in self.eval_dirs()}
        found = []
        for run_dir in self.run_dirs():
            try:
                trace = self.trace(run_dir)
            except (MolmoAgentError, OSError):
                continue  # a folder being created, or not ours: the list goes on
            home = next((d for d in evals if run_dir.is_relative_to(d)), None)
            result = evals[home].get(run_dir) if home else None
            found.append(RunInfo(ref=self.ref(run_dir), trace=trace, task=result.get("task", "") if result else
                                 run_dir.name, site=_site(trace), verdict=(result or {}).get("verdict") or
                                 _verdict(run_dir), eval_ref=self.ref(home) if home else None))
        return sorted(found, key=lambda r: r.trace.header.created_at, reverse=True)


def _results_by_trace(eval_dir: Path) -> dict[Path, dict]:
    results = {}
    file = eval_dir / "results.jsonl"
    if file.is_file():
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the line being written
            if isinstance(row, dict) and row.get("trace"):
                results[(eval_dir / row["trace"]).resolve()] = row
    return results


def _site(trace: Trace) -> str:
    url = trace.header.start_url or ""
    return urlsplit(url).hostname or (Path(trace.header.site).name if trace.header.site else "")


def _verdict(run_dir: Path) -> str:
    from .judges import load_judgments

    try:
        judged = load_judgments(run_dir)
    except (ValueError, OSError):
        return ""
    return judged[-1].verdict if judged else ""


# -- rendering ------------------------------------------------------------------------------------------------
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


def _end_html(trace: Trace) -> str:
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
        f"<td>{_e(_eval_state(d)['line'])}</td></tr>"
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
    from .report import judgments_html

    trace = library.trace(run_dir)
    ref, h = library.ref(run_dir), trace.header
    chips = "".join(step_chip(s) for s in trace.steps)
    panels = "".join(step_panel(library, trace, s) for s in trace.steps)
    final = ""
    if trace.end is not None and trace.end.final_screenshot:
        final = (f"<p>final page ({_e(trace.end.final_url or '')}):</p><img class='final' alt='final' width='640' "
                 f"src='{_shot_url(library, trace, trace.end.final_screenshot)}'>")
    body = (f"<header><h1>{_e(h.goal)}</h1><div class='meta'><span id='status'>{_end_html(trace)}</span><br>"
            f"policy {_e(h.policy)}, pointer {_e(h.pointer.get('name', '?'))}, {h.viewport[0]}x{h.viewport[1]} at "
            f"scale {h.scale}, started {_e(h.start_url or '')} at {_e(h.created_at)}. Arrow keys move between "
            f"steps. <a href='/compare?a={quote(ref)}'>compare with...</a></div></header>{judgments_html(trace)}"
            f"<div class='run-view'><div class='steps-list'>{chips}</div><div class='panels'>{panels}</div></div>{final}")
    live = f"/live/run/{quote(ref)}?shown={len(trace.steps)}" if trace.end is None else ""
    return _page(h.goal, body, nonce, script=RUN_SCRIPT, live=live)


def _eval_state(eval_dir: Path) -> dict:
    """What an eval has done so far, from its files: planned, finished, passed, and whether it is over (its
    summary is written last, after every result)."""
    rows = list(_results_by_trace(eval_dir).values())
    planned, summary = _json(eval_dir / "planned.json"), _json(eval_dir / "summary.json")
    results = eval_dir / "results.jsonl"
    finished = summary is not None and (not results.is_file() or
                                        (eval_dir / "summary.json").stat().st_mtime >= results.stat().st_mtime)
    done, passed = len(rows), sum(bool(r.get("success")) for r in rows)
    line = (f"{done} of {(planned or {}).get('episodes', '?')} episodes done, {passed} passed"
            + (f" ({passed / done:.0%})" if done else "") + ("" if finished else ", running"))
    return {"rows": rows, "finished": finished, "summary": summary, "line": line}


def _json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def eval_live_html(library: Library, eval_dir: Path) -> tuple[str, bool]:
    state = _eval_state(eval_dir)
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


# -- the app --------------------------------------------------------------------------------------------------
def make_app(library: Library, *, token: str | None = None, allowed_hosts: set[str] | None = None):
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse

    app = FastAPI(title="molmo-agent ui", docs_url=None, redoc_url=None, openapi_url=None)
    cookie = "molmo_ui"

    @app.middleware("http")
    async def guard(request: Request, call_next):
        given = request.query_params.get("token") or request.cookies.get(cookie) or ""
        if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("open the address ui printed, with its ?token=", 401)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if token is not None and request.query_params.get("token"):
            response.set_cookie(cookie, token, httponly=True, samesite="strict")
        return response

    def where(ref: str) -> Path:
        try:
            return library.resolve(ref)
        except LookupError:
            raise HTTPException(404, "no such file or folder under the folders ui was given") from None

    def run_dir(ref: str) -> Path:
        path = where(ref)
        if not (path / TRACE_FILE).is_file():
            raise HTTPException(404, "not a run directory")
        return path

    def html_page(render) -> HTMLResponse:
        nonce = tokens.token_urlsafe(16)
        try:
            text = render(nonce)
        except MolmoAgentError as exc:
            raise HTTPException(422, str(exc)) from None
        return HTMLResponse(text, headers={"Content-Security-Policy": f"default-src 'none'; img-src 'self'; "
                                           f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'"})

    @app.get("/")
    def home(request: Request):
        return html_page(lambda nonce: list_page(library, dict(request.query_params), nonce))

    @app.get("/run/{ref:path}")
    def run(ref: str):
        return html_page(lambda nonce: run_page(library, run_dir(ref), nonce))

    @app.get("/eval/{ref:path}")
    def evaluation(ref: str):
        path = where(ref)
        if not any((path / name).is_file() for name in EVAL_FILES):
            raise HTTPException(404, "not an eval directory")
        return html_page(lambda nonce: eval_page(library, path, nonce))

    @app.get("/compare")
    def compare(a: str, b: str | None = None):
        return html_page(lambda nonce: compare_page(library, run_dir(a), run_dir(b) if b else None, nonce))

    @app.get("/file/{ref:path}")
    def file(ref: str):
        path = where(ref)
        if path.suffix.lower() not in IMAGES or not path.is_file():
            raise HTTPException(404, "ui serves the screenshots of runs, nothing else")
        return FileResponse(path, media_type=IMAGES[path.suffix.lower()])

    def events(follow) -> StreamingResponse:
        return StreamingResponse(follow(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/live/run/{ref:path}")
    def live_run(ref: str, request: Request, shown: int = 0):
        path = run_dir(ref)

        async def follow():
            sent, quiet = shown, time.monotonic()
            while not await request.is_disconnected():
                try:
                    trace = library.trace(path)
                except (MolmoAgentError, OSError):
                    trace = None
                for step in trace.steps[sent:] if trace else []:
                    sent += 1
                    data = {"chip": step_chip(step), "panel": step_panel(library, trace, step)}
                    yield f"event: step\ndata: {json.dumps(data)}\n\n"
                    quiet = time.monotonic()
                if trace is not None and trace.end is not None:
                    yield f"event: end\ndata: {json.dumps({'html': _end_html(trace)})}\n\n"
                    return
                if time.monotonic() - quiet > 15:
                    yield ": still here\n\n"
                    quiet = time.monotonic()
                await asyncio.sleep(LIVE_POLL_S)

        return events(follow)

    @app.get("/live/eval/{ref:path}")
    def live_eval(ref: str, request: Request):
        path = where(ref)

        async def follow():
            last = None
            while not await request.is_disconnected():
                text, finished = eval_live_html(library, path)
                digest = hashlib.sha1(text.encode()).hexdigest()
                if digest != last:
                    last = digest
                    yield f"event: progress\ndata: {json.dumps({'html': text, 'finished': finished})}\n\n"
                if finished:
                    return
                await asyncio.sleep(4 * LIVE_POLL_S)

        return events(follow)

    @app.exception_handler(HTTPException)
    def refused(request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, exc.status_code)

    answer_only_to(app, allowed_hosts, "ui")  # added last, so it runs first
    return app


class UiServer(AppServer):
    """The app on uvicorn, over `folders`."""

    def __init__(self, folders: list[Path], *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 allow_hosts: list[str] = ()) -> None:
        if token is None and not is_loopback(host):
            raise ConfigError(f"refusing to serve traces on {host} without --token: anyone who can reach it could "
                              "read them (typed pages, screenshots); pass --token, or listen on 127.0.0.1")
        self.library = Library(folders)
        app = make_app(self.library, token=token, allowed_hosts=expected_hosts(host, list(allow_hosts)))
        super().__init__(app, host=host, port=port, name="molmo-ui")
