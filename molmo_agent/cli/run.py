"""run, demo, replay, site: driving the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, MolmoAgentError
from ..pointers import NAMES as POINTER_NAMES
from ..tasks import Task, load_task
from ..sites import DEMO_SITE, serve_site
from ._common import (
    ALLOW, ALLOW_FILE, API, API_KEY, BROWSER, DEMO_TASK, ENDPOINT, FAMILY, GUARDS, HEADED, HISTORY,
    MAX_NEW_TOKENS, MAX_STEPS, MODEL, OUT, PLANNER, PLANNER_KEY, PLANNER_MODEL, POINTER, POLICY, PW_TRACE, SCALE, SECRET,
    TEMPERATURE, TIMEOUT, TOP_P, VIEWPORT, WAIT_SCALE, app, choose_policy, execute, fail, make_settings, out,
    print_end, recording_to, step_line,
)


@app.command()
def run(
    goal: Optional[str] = typer.Argument(None, help='steps such as \'click "Search", type "SFO" into "From"\''),
    url: Optional[str] = typer.Option(None, help="start URL"),
    task: Optional[Path] = typer.Option(None, "--task", help="a task file (YAML) instead of GOAL and --url"),
    pointer: str = POINTER, endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL,
    api_key: Optional[str] = API_KEY, timeout: float = TIMEOUT, out_dir: Path = OUT,
    max_steps: Optional[int] = MAX_STEPS, viewport: str = VIEWPORT, scale: float = SCALE,
    secret: list[str] = SECRET, allow_domain: list[str] = ALLOW, allow_file: bool = ALLOW_FILE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER, playwright_trace: bool = PW_TRACE,
    family: Optional[str] = FAMILY, policy: str = POLICY, planner: Optional[str] = PLANNER,
    planner_model: Optional[str] = PLANNER_MODEL, planner_api_key: Optional[str] = PLANNER_KEY,
    api: str = API, history: int = HISTORY, guards: bool = GUARDS, wait_scale: float = WAIT_SCALE,
    temperature: float = TEMPERATURE, top_p: float = TOP_P, max_new_tokens: int = MAX_NEW_TOKENS,
    site_url: Optional[str] = typer.Option(None, "--site-url", help="show a task's own site at this URL "
                                           "(http://demo.test/), answered from loopback: every run and "
                                           "recording then sees the same addresses, not a new port"),
) -> None:
    """Run a goal (or a task file) in Chromium and record a trace."""
    try:
        settings = make_settings(pointer, endpoint, model, api_key, timeout, out_dir, max_steps, viewport,
                             scale, secret, allow_domain, allow_file, headed, browser, playwright_trace, family)
        choose_policy(settings, policy, planner, planner_model, planner_api_key, api=api, history=history,
                      temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, guards=guards,
                      wait_scale=wait_scale)
        settings.site_url = site_url
        settings.end_at_answer = True  # a run ends at the answer, as MolmoWeb's client does; eval's at [EXIT]
        if task is not None:
            chosen = load_task(task)
            if url:
                chosen = chosen.model_copy(update={"url": url, "site": None})
        elif goal:
            chosen = Task(id="run", goal=goal, url=url)
        else:
            raise ConfigError("give a GOAL or --task FILE")
        execute(chosen, settings)
    except MolmoAgentError as exc:
        fail(exc)


@app.command()
def demo(
    pointer: str = POINTER, out_dir: Path = OUT, scale: float = SCALE, headed: bool = HEADED,
    browser: Optional[str] = BROWSER,
) -> None:
    """Book a flight on the bundled demo site, pixels only, and print where the trace is."""
    try:
        settings = make_settings(pointer, None, None, None, 60.0, out_dir, None, "1280x720", scale, [], [],
                             False, headed, browser)
        execute(load_task(DEMO_TASK), settings)
    except MolmoAgentError as exc:
        fail(exc)


@app.command()
def replay(
    trace: Path = typer.Argument(..., help="a run directory written by run, demo or replay"),
    mode: str = typer.Option("exact", help="exact: stop at the first divergence; reground: ask the pointer "
                             "again where the page moved; check: list every divergence"),
    url: Optional[str] = typer.Option(None, help="start here instead of the recorded URL"),
    tolerance: float = typer.Option(0.02, help="share of the screenshot that may differ before a step diverges"),
    pointer: Optional[str] = typer.Option(None, "--pointer", help="for reground (default: the recorded one)"),
    endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL, api_key: Optional[str] = API_KEY,
    timeout: float = TIMEOUT, out_dir: Path = OUT, viewport: Optional[str] = typer.Option(
        None, help="viewport (default: the recorded one)"), scale: Optional[float] = typer.Option(
        None, help="device scale factor (default: the recorded one)"),
    secret: list[str] = SECRET, allow_domain: list[str] = ALLOW, allow_file: bool = ALLOW_FILE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER,
) -> None:
    """Replay a recorded run and report where the page no longer matches the recording."""
    from ..replay import replay as replay_run
    from ..trace import read_trace

    try:
        if mode not in ("exact", "reground", "check"):
            raise ConfigError(f"--mode {mode!r} is not one of exact, reground, check")
        header = read_trace(trace).header
        name = pointer or header.pointer.get("name", "ocr")
        if mode == "reground" and name not in POINTER_NAMES:
            raise ConfigError(f"the recording used pointer {name!r}; pass --pointer for reground")
        settings = make_settings(name if name in POINTER_NAMES else "dom", endpoint or header.pointer.get("endpoint"),
                             model or header.pointer.get("model"), api_key, timeout, out_dir, None,
                             viewport or "x".join(map(str, header.viewport)),
                             scale if scale is not None else header.scale, secret, allow_domain, allow_file,
                             headed, browser)
        result, divergences = replay_run(trace, settings, mode=mode, url=url, tolerance=tolerance,
                                         on_step=step_line(settings.secrets), on_start=recording_to)
    except MolmoAgentError as exc:
        fail(exc)
    print_end(result, settings)
    for d in divergences:
        out.print(f"[yellow]step {d.step} diverged:[/yellow] " + "; ".join(d.differences))
        out.print(f"      recorded {d.recorded_screenshot}\n      now      {d.current_screenshot}"
                  f"\n      side by side {d.side_by_side}")
    clean = result.status == "success" and not (mode == "check" and divergences)
    raise typer.Exit(0 if clean else 1)


@app.command()
def site(
    folder: Path = typer.Argument(DEMO_SITE, help="folder to serve (default: the demo site)"),
    port: int = typer.Option(8000, help="port on 127.0.0.1"),
) -> None:
    """Serve a task site (the demo by default) on 127.0.0.1 until Ctrl-C."""
    import time

    try:
        with serve_site(folder, port=port) as base:
            out.print(f"serving {folder} at {base} (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
    except MolmoAgentError as exc:
        fail(exc)
    except KeyboardInterrupt:
        pass


@app.command()
def record(
    url: str = typer.Argument(..., help="where the person starts"),
    goal: str = typer.Option("", "--goal", help="what the person is doing (the trace's goal)"),
    out_dir: Path = OUT,
    secret: list[str] = typer.Option([], "--secret", help="NAME: a field whose label, name or id holds NAME is "
                                     "recorded as {{NAME}}, its value never; NAME=value: as in run (password "
                                     "fields are always {{PASSWORD}} unless named)"),
    steps_out: Optional[Path] = typer.Option(None, "--steps-out", help="also write the steps alone, which run follows"),
    pytest_out: Optional[Path] = typer.Option(None, "--pytest", help="also write a pytest test of the steps (the "
                                              "plugin's agent fixture: it heals when the page moves)"),
    viewport: str = VIEWPORT, scale: float = SCALE, browser: Optional[str] = BROWSER,
    headless: bool = typer.Option(False, "--headless", help="no window (for a person played by a script)"),
) -> None:
    """Record a person doing a task in a browser window: every action becomes a step of a normal trace."""
    import os
    import queue
    import sys
    import threading

    from ..browser import BrowserConfig, parse_viewport
    from ..record import END_KEY, Recorder, pytest_text, steps_text
    from ..redaction import Secrets

    try:
        if not headless and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                                      os.environ.get("WAYLAND_DISPLAY")):
            raise ConfigError("record opens a browser window for a person to act in, and this machine has no "
                              "display ($DISPLAY is unset): run it on a desktop, or under xvfb-run with --headless")
        names = [s for s in secret if "=" not in s]
        if bad := [n for n in names if not n.replace("_", "").isalnum()]:
            raise ConfigError(f"--secret {bad[0]!r}: a NAME is letters, digits and _")
        config = BrowserConfig(executable=browser, headless=headless, viewport=parse_viewport(viewport), scale=scale)
        recorder = Recorder(url, goal=goal, out=out_dir, config=config,
                            secrets=Secrets.from_options([s for s in secret if "=" in s]), secret_names=names)
        said: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [said.put(line) for line in sys.stdin], daemon=True).start()
        with recorder:
            out.print(f"recording into {recorder.dir}: act in the browser window; end with {END_KEY} in the page, "
                      'by closing the window, or by typing done "answer" here')
            trace = recorder.until_done(said, out.print)
    except MolmoAgentError as exc:
        fail(exc)
    out.print(f"{len(trace.steps)} steps recorded: {trace.dir}")
    if steps_out:
        steps_out.write_text(steps_text(trace), encoding="utf-8")
        out.print(f"steps: {steps_out} (molmo-agent run \"$(cat {steps_out})\" --url {url})")
    if pytest_out:
        pytest_out.write_text(pytest_text(trace), encoding="utf-8")
        out.print(f"test: {pytest_out} (pytest {pytest_out})")
