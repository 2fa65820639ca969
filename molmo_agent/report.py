"""Self-contained HTML reports (and animated GIFs) of runs: what the agent saw, where it pointed, what happened."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageDraw

from .errors import TraceError
from .language.steps import to_step
from .trace import StepRecord, Trace, read_trace
from .trace.writer import TRACE_FILE

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2433; }
header { background: #173b6c; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 6px; font-size: 20px; }
.meta { font-size: 13px; opacity: .9; }
.timeline { z-index: 2; display: flex; flex-wrap: wrap; gap: 4px; padding: 12px 24px; background: #fff; position: sticky; top: 0; border-bottom: 1px solid #ddd; }
.timeline a { padding: 3px 8px; border-radius: 4px; font-size: 12px; text-decoration: none; color: #fff; background: #2da44e; }
.timeline a.failed { background: #cf222e; } .timeline a.healed { background: #bf8700; }
.step { background: #fff; margin: 16px 24px; padding: 14px; border-radius: 8px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
.shot { position: relative; } .shot img { width: 100%; display: block; border: 1px solid #ccc; }
.shot svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.model-point { fill: rgba(255, 0, 128, .35); stroke: #ff0080; stroke-width: 3; }
.click line { stroke: #00b3ff; stroke-width: 3; }
.seen rect { fill: none; stroke-width: 1.5; } .seen .field, .seen .area { stroke: #e5534b; }
.seen .button { stroke: #316dca; } .seen .checkbox, .seen .radio { stroke: #2da44e; }
.seen .label { stroke: #bf8700; stroke-dasharray: 4 3; stroke-width: 2; } .seen .chosen { stroke: #ff0080; stroke-width: 3; }
.seen line { stroke: #ff0080; stroke-width: 2; stroke-dasharray: 5 3; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: 8px; font-size: 12px; margin: 4px 0; }
.status-success { color: #2da44e; } .status-failed, .status-error, .status-incomplete, .status-interrupted { color: #cf222e; }
table { border-collapse: collapse; margin: 16px 24px; background: #fff; } td, th { padding: 6px 10px; border-bottom: 1px solid #eee; text-align: left; }
.legend { font-size: 13px; padding: 0 24px; }
.judge { background: #fff; margin: 16px 24px; padding: 14px; border-radius: 8px; } summary { cursor: pointer; }
"""


def _png_data_url(path: Path, width: int) -> str:
    """The screenshot at `width` px (CSS size) as an inline JPEG: the report works offline and stays small."""
    image = Image.open(path).convert("RGB")
    if image.width != width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _marks(step: StepRecord) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
    points = [p for g in step.grounding for p in g.css[:1]]
    action = step.action
    click = (action.x, action.y) if action is not None and getattr(action, "x", None) is not None else None
    return points, click


def overlay_svg(step: StepRecord, viewport: tuple[int, int]) -> str:
    points, click = _marks(step)
    shapes = [_seen_svg(g.seen) for g in step.grounding if g.seen]
    shapes += [f'<circle class="model-point" cx="{x:.1f}" cy="{y:.1f}" r="14"/>' for x, y in points]
    if click:
        x, y = click
        shapes.append(f'<g class="click"><line x1="{x - 12:.1f}" y1="{y:.1f}" x2="{x + 12:.1f}" y2="{y:.1f}"/>'
                      f'<line x1="{x:.1f}" y1="{y - 12:.1f}" x2="{x:.1f}" y2="{y + 12:.1f}"/></g>')
    return f'<svg viewBox="0 0 {viewport[0]} {viewport[1]}">{"".join(shapes)}</svg>'


def _seen_svg(seen) -> str:
    """A pixel pointer's reading of the screen: its controls by kind, the text it matched (dashed) and the
    control it chose, joined by a line."""
    shapes = [f'<rect class="{html.escape(s.kind)}" x="{s.box.x:.1f}" y="{s.box.y:.1f}" width="{s.box.width:.1f}" '
              f'height="{s.box.height:.1f}"/>' for s in seen]
    label = next((s.box.center for s in seen if s.kind == "label"), None)
    chosen = next((s.box.center for s in seen if s.kind == "chosen"), None)
    if label and chosen:
        shapes.append(f'<line x1="{label[0]:.1f}" y1="{label[1]:.1f}" x2="{chosen[0]:.1f}" y2="{chosen[1]:.1f}"/>')
    return f'<g class="seen">{"".join(shapes)}</g>'


def step_rows(step: StepRecord) -> str:
    """What a step did, as HTML (everything a page or model wrote escaped): the step as written, the policy's
    words, each question to the pointer and its answer, the action, the outcome, events, replay, timings."""
    e = html.escape
    rows = [f"<h3>{step.index}. {e(to_step(step.intent) or step.intent.describe())}</h3>"]
    if step.thought:
        rows.append(f"<div>thought: {e(step.thought)}</div>")
    if step.policy_raw:
        rows.append(f"<div>policy said:</div><pre>{e(step.policy_raw)}</pre>")
    for g in step.grounding:
        where = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in g.css) or "nowhere"
        cache = f", from the point cache ({g.cache})" if g.cache else ""
        rows.append(f"<div>pointer asked for {e(repr(g.target))}{' (field)' if g.field else ''}: "
                    f"{where} CSS px, {g.seconds:.2f}s{cache}</div><pre class='raw'>{e(g.raw or '')}</pre>")
        if g.error:
            rows.append(f"<div class='status-failed'>{e(g.error)}</div>")
    if step.action is not None:
        rows.append(f"<div>did: <code>{e(step.action.describe())}</code></div>")
    verdict = "ok" if step.outcome.ok else f"failed: {step.outcome.error}"
    rows.append(f"<div class='{'status-success' if step.outcome.ok else 'status-failed'}'>{e(verdict)}</div>")
    rows.append(f"<div>changed: {e(', '.join(step.outcome.changed) or 'nothing')}</div>")
    rows += [f"<div>event: {e(ev)}</div>" for ev in step.outcome.events]
    if step.replay is not None:
        r = step.replay
        state = "healed (re-grounded)" if r.healed else ("diverged" if r.differences else "matched the recording")
        rows.append(f"<div>replay of step {r.source_step}: {state}</div>")
        rows += [f"<div class='status-failed'>{e(d)}</div>" for d in r.differences]
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in step.timings.items())
    rows.append(f"<div class='meta'>{e(step.observation.title)}<br>{e(step.observation.url)}<br>{e(timings)}</div>")
    return "".join(rows)


def _step_html(trace: Trace, step: StepRecord) -> str:
    viewport = trace.header.viewport
    image = _png_data_url(trace.screenshot_path(step.observation.screenshot), viewport[0])
    return (f'<section class="step" id="step-{step.index}"><div class="shot"><img alt="step {step.index}" '
            f'src="{image}">{overlay_svg(step, viewport)}</div><div>{step_rows(step)}</div></section>')


def judgments_html(trace: Trace) -> str:
    """Every judge's reading of the run, newest first: verdict, then each call's prompt, images and answer."""
    from .judges import load_judgments

    e = html.escape
    sections = []
    for j in reversed(load_judgments(trace.dir)):
        calls = "".join(
            f"<details><summary>{e(c.stage)}{' (' + str(len(c.images)) + ' screenshots)' if c.images else ''}"
            f"{' failed: ' + e(c.error) if c.error else ''}</summary><div>system:</div><pre>{e(c.system)}</pre>"
            f"<div>prompt:</div><pre>{e(c.text)}</pre><div>answer:</div><pre>{e(c.answer or '')}</pre></details>"
            for c in j.calls)
        points = f"<div>key points:</div><pre>{e(j.key_points)}</pre>" if j.key_points else ""
        points += f"<div>why:</div><pre>{e(j.reason)}</pre>" if j.reason else ""
        sections.append(f'<section class="judge"><div><b>judge</b> {e(j.method)} ({e(j.model)}), {e(j.created_at)}: '
                        f"<span class='status-{'success' if j.verdict == 'success' else 'failed'}'>{e(j.verdict)}</span>"
                        f"</div>{points}{calls}</section>")
    return "".join(sections)


def trace_html(trace: Trace) -> str:
    e = html.escape
    h = trace.header
    chips = []
    for s in trace.steps:
        kind = "failed" if not s.outcome.ok else ("healed" if s.replay and s.replay.healed else "")
        chips.append(f'<a class="{kind}" href="#step-{s.index}">{s.index} {e(s.intent.name)}</a>')
    end = trace.end
    summary = f"<span class='status-{trace.status}'>{trace.status}</span>"
    if end is not None:
        summary += f" after {end.steps} steps in {end.seconds:.1f}s" + (f": {e(end.reason)}" if end.reason else "")
    final = ""
    if end is not None and end.final_screenshot:
        image = _png_data_url(trace.screenshot_path(end.final_screenshot), h.viewport[0])
        final = f'<section class="step" id="final"><div class="shot"><img alt="final" src="{image}"></div><div>final page: {e(end.final_url or "")}</div></section>'
    replay = f"<br>replay ({h.replay_mode}) of {e(h.replay_of)}" if h.replay_of else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(h.run_id)}</title>
<style>{STYLE}</style></head><body>
<header><h1>{e(h.goal)}</h1><div class="meta">{summary}<br>policy {e(h.policy)}, pointer {e(h.pointer.get('name', '?'))},
viewport {h.viewport[0]}x{h.viewport[1]} at scale {h.scale}, started {e(h.start_url or '')} on {e(h.created_at)}{replay}</div></header>
{judgments_html(trace)}<nav class="timeline">{''.join(chips)}</nav>
<p class="legend">Pink circle: where the pointer pointed. Blue cross: where the action landed. A pixel pointer's
reading, where it gives one: fields red, buttons blue, checkboxes and radios green, add-ons purple, the text
it matched dashed, the control it chose pink.</p>
{''.join(_step_html(trace, s) for s in trace.steps)}{final}
</body></html>"""


def index_html(runs: list[tuple[Trace, str]], title: str) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='{e(link)}'>{e(t.header.run_id)}</a></td><td class='status-{t.status}'>{t.status}</td>"
        f"<td>{len(t.steps)}</td><td>{e((t.end.reason or '') if t.end else '')}</td></tr>"
        for t, link in runs
    )
    passed = sum(t.status == "success" for t, _ in runs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{STYLE}</style></head>
<body><header><h1>{e(title)}</h1><div class="meta">{passed} of {len(runs)} runs succeeded</div></header>
<table><tr><th>run</th><th>status</th><th>steps</th><th>reason</th></tr>{rows}</table></body></html>"""


def _provenance(summary: dict) -> str:
    e = html.escape
    text = ""
    if source := summary.get("source"):
        text += f"<br>{e(source['benchmark'])} tasks from {e(source['file'])} (sha256 {e(source['sha256'])})"
    if judge := summary.get("judge"):
        text += f"<br>judged by {e(judge['method'])} with {e(judge['model'])} at {e(judge['endpoint'])}"
    if official := summary.get("official"):
        text += (f"<br>official judge code: {e(official['judge'])}, verdicts {e(str(official['verdicts']))}; it agrees "
                 f"with ours on {official['agree']} of the {official['both']} episodes both decided")
    return text


def _official(r) -> str:
    """The benchmark's own judge code on an episode, linked to its raw verdict."""
    e = html.escape
    if r.official is None:
        return ""
    said = f"; official: {r.official.verdict} ({r.official.judge})" + (f": {r.official.why}" if r.official.why else "")
    return e(said) + (f' <a href="{e(r.official.file)}">raw</a>' if r.official.file else "")


def eval_html(out: Path, summary: dict, results: list) -> str:
    """An eval directory's page: per-task rates, then every episode linked to its trace's report."""
    e = html.escape
    tasks = "".join(
        f"<tr><td>{e(task)}</td><td>{t['successes']}/{t['episodes']}</td><td>{t['success_rate']:.0%}</td>"
        f"<td>{t['mean_reward']:.2f}</td><td>{t['mean_steps']:.1f}</td><td>{t['mean_seconds']:.1f}s</td></tr>"
        for task, t in summary["tasks"].items()
    )
    episodes = "".join(
        f"<tr><td>{e(r.task)}</td><td>{'' if r.seed is None else r.seed}</td>"
        f"<td class='status-{'success' if r.success else 'failed'}'>{'pass' if r.success else 'fail'}</td>"
        f"<td>{r.reward:g}</td><td>{r.steps}</td><td>{r.seconds:.1f}s</td>"
        f"<td>{f'<a href={chr(34)}{e(r.trace)}/report.html{chr(34)}>trace</a>' if r.trace else ''}</td>"
        f"<td>{e(r.reason or '')}{e(f' (retried: {r.retried})') if r.retried else ''}"
        f"{e(f'; judge: {r.verdict} ({r.judged_by})') if r.verdict else ''}{_official(r)}</td></tr>"
        for r in sorted(results, key=lambda r: (r.task, r.seed if r.seed is not None else -1))
    )
    head = "<tr><th>task</th><th>passed</th><th>rate</th><th>mean reward</th><th>mean steps</th><th>mean time</th></tr>"
    scores = summary.get("scores")
    if scores:  # a published benchmark: pass@k per site and level replaces the per-task table
        k = scores["k"]
        columns = ["pass@1"] + ([f"pass@{k}"] if k > 1 else [])
        rows = [("overall", scores["overall"])] + [(f"{g.removeprefix('by_')}: {name}", s) for g in ("by_site", "by_level")
                                                    for name, s in scores.get(g, {}).items()]
        theirs = summary.get("official", {}).get("scores", {})
        official = dict([("overall", theirs["overall"])] + [(f"{g.removeprefix('by_')}: {name}", s) for g in
                         ("by_site", "by_level") for name, s in theirs.get(g, {}).items()]) if theirs else {}
        head = (f"<tr><th>group</th><th>tasks</th><th>episodes</th>{''.join(f'<th>{c}</th>' for c in columns)}"
                + "".join(f"<th>official {c}</th>" for c in columns if official) + "</tr>")
        tasks = "".join(f"<tr><td>{e(name)}</td><td>{s['tasks']}</td><td>{s['episodes']}</td>"
                        + "".join(f"<td>{s[c]:.1%}</td>" for c in columns)
                        + "".join(f"<td>{official[name][c]:.1%}</td>" for c in columns if name in official)
                        + "</tr>" for name, s in rows)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(out.name)}</title><style>{STYLE}</style></head>
<body><header><h1>{e(summary.get('suite', out.name))}</h1><div class="meta">{summary['successes']} of {summary['episodes']}
episodes succeeded ({summary['success_rate']:.1%}), pointer {e(str(summary.get('pointer', '?')))}, {summary.get('workers', 1)} workers{_provenance(summary)}</div></header>
<table>{head}{tasks}</table>
<table><tr><th>task</th><th>seed</th><th>result</th><th>reward</th><th>steps</th><th>time</th><th>trace</th><th>reason</th></tr>{episodes}</table>
</body></html>"""


def write_report(path: str | Path, *, gif: bool = False) -> Path:
    """Write report.html for a run directory, or for a folder of runs (plus an index). Returns its path."""
    path = Path(path)
    if (path / TRACE_FILE).is_file():
        trace = read_trace(path)
        out = path / "report.html"
        out.write_text(trace_html(trace), encoding="utf-8")
        if gif:
            write_gif(trace, path / "run.gif")
        return out
    if (path / "summary.json").is_file():
        return write_eval_report(path, gif=gif)
    run_dirs = sorted(p.parent for p in path.glob(f"*/{TRACE_FILE}")) if path.is_dir() else []
    if not run_dirs:
        raise TraceError(f"{path} is neither a run directory nor a folder of runs")
    runs = []
    for run_dir in run_dirs:
        write_report(run_dir, gif=gif)
        runs.append((read_trace(run_dir), f"{run_dir.name}/report.html"))
    out = path / "index.html"
    out.write_text(index_html(runs, f"{path.name}: {len(runs)} runs"), encoding="utf-8")
    return out


def write_gif(trace: Trace, out: Path, width: int = 640, frame_ms: int = 900) -> Path:
    """An animated GIF of the run with each step's points drawn."""
    frames = []
    viewport = trace.header.viewport
    factor = width / viewport[0]
    for step in trace.steps:
        image = Image.open(trace.screenshot_path(step.observation.screenshot)).convert("RGB")
        image = image.resize((width, round(viewport[1] * factor)), Image.Resampling.LANCZOS)
        draw = ImageDraw.Draw(image)
        points, click = _marks(step)
        for x, y in points:
            draw.ellipse([x * factor - 9, y * factor - 9, x * factor + 9, y * factor + 9], outline="#ff0080", width=3)
        if click:
            x, y = click[0] * factor, click[1] * factor
            draw.line([x - 8, y, x + 8, y], fill="#00b3ff", width=3)
            draw.line([x, y - 8, x, y + 8], fill="#00b3ff", width=3)
        caption = f"{step.index}. {step.intent.describe()}"[:90]
        draw.rectangle([0, image.height - 22, image.width, image.height], fill="black")
        draw.text((6, image.height - 18), caption, fill="white")
        frames.append(image)
    if not frames:
        raise TraceError(f"{trace.dir} has no steps to animate")
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return out


def write_eval_report(out: Path, *, gif: bool = False) -> Path:
    """report.html of an eval directory, and each episode's own trace report beside its trace."""
    import json

    from .evaluate import SUMMARY, finished_results

    results = finished_results(out)
    for result in results:
        if result.trace and (out / result.trace / TRACE_FILE).is_file():
            write_report(out / result.trace, gif=gif)
    summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
    page = out / "report.html"
    page.write_text(eval_html(out, summary, results), encoding="utf-8")
    return page
