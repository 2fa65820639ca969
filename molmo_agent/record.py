"""record: a person does the task in a browser; every action becomes a step of a normal trace.

The loop run backwards: where a run decides a step, grounds it and acts, here the person acts and the page
tells what happened (browser/scripts.py RECORDER, through a binding); the step is then written as a run
writes one, with the same trace writer and step language: the screenshot of the page as it last looked
before the action, the point in CSS pixels, the element there (role, accessible name), the step as a person
would write it (`click "Search flights"`, `type "SFO" into "From"`, `select "Business" in "Cabin"`,
`press Enter`, `scroll down 300px`, `goto URL`, `back`, new and switched tabs).

How a person's input becomes steps: a click on a field or a <select> waits for what follows, since a click
then typing is one `type` step at that point (and a click then a choice, one `select`); keystrokes are one
`type` step with the field's value once focus leaves it or Enter is pressed; a scroll is one step once the
page rests. A navigation nobody's action explains (the address bar, the Back button) is `goto` or `back`.
A password field, or one whose name holds a `--secret NAME`, never sends its value out of the page: it is
typed as `{{NAME}}` (`{{PASSWORD}}` for a password with no name given) and masked in every screenshot;
`--secret NAME=VALUE` works as in runs (the value is replaced by its name wherever it would be written).
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from . import __version__
from . import actions as A
from .browser import Browser, BrowserConfig, scripts
from .browser.session import frame_offset
from .errors import MolmoAgentError
from .language import parse_step, to_step
from .observation import Box, Observation
from .redaction import Secrets
from .trace import (ElementRecord, Grounding, ObservationRecord, Outcome, StepRecord, Trace, TraceEnd, TraceHeader,
                    read_trace)
from .trace.writer import TraceWriter, new_run_dir

END_KEY = "Ctrl+Shift+Enter"
FRESH_S = 0.4
"""a look older than this is taken again while nothing happens: the page as it last settled"""
CLICK_WAIT_S = 0.5
"""a click on anything but a field is written once this passes with nothing following (a double click would)"""
UNEXPLAINED_S = 1.5
"""a navigation or a new tab this long after the person's last action in the page was theirs alone"""


class Recorder:
    """A browser a person acts in, written down as a trace. `pump()` hears and writes; the CLI calls it until
    the person ends, a test calls it between the actions it plays."""

    def __init__(self, url: str, *, goal: str, out: Path, config: BrowserConfig | None = None,
                 secrets: Secrets | None = None, secret_names: list[str] = ()) -> None:
        self.url, self.goal, self.out = url, goal, Path(out)
        self.config, self.secrets, self.secret_names = config or BrowserConfig(), secrets or Secrets(), list(secret_names)
        self.ended = False
        self.answer: str | None = None
        self._heard: list[tuple] = []
        self._pending: tuple | None = None  # a click waiting to see what follows: (event, point, look, when)
        self._typing: dict[str, tuple] = {}  # field id -> (look, point) where its typing began
        self._scroll_look: Observation | None = None
        self._last_act = 0.0
        self._steps = 0
        self._started = time.monotonic()

    # -- lifetime -------------------------------------------------------------------------------
    def __enter__(self) -> "Recorder":
        self.browser = Browser(self.config, self.secrets).__enter__()
        try:
            self.browser.mask_marked = True
            self.browser.listen(scripts.RECORDER % json.dumps(self.secret_names), "__molmoRecord",
                                lambda page, frame, event: self._heard.append((page, frame, event)))
            self.writer = TraceWriter(new_run_dir(self.out, self.goal or "recording"), self.secrets)
            self.browser.goto(self.url)
            self._looks = [self.browser.observe()]
            self._looked = time.monotonic()
            self.writer.write(self._header())
        except BaseException:
            self.browser.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if not getattr(self, "finished", None):
                self.finish(status="interrupted" if exc[0] is not None else "success")
        finally:
            self.browser.close()

    @property
    def page(self):
        return self.browser.page

    @property
    def dir(self) -> Path:
        return self.writer.dir

    def _header(self) -> TraceHeader:
        return TraceHeader(
            run_id=self.writer.dir.name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            goal=self.goal, start_url=self.url, policy="person", pointer={"name": "person"},
            viewport=self.config.viewport, scale=self.config.scale, max_steps=0,
            versions={"molmo_agent": __version__, "browser": self.browser.version})

    # -- hearing --------------------------------------------------------------------------------
    def pump(self, seconds: float = 0.1) -> None:
        """Let the page run for `seconds`, then write what the person did meanwhile."""
        try:
            self.page.wait_for_timeout(seconds * 1000)
        except PlaywrightError:  # the tab was closed: another one, or the end
            pass
        while self._heard and not self.ended:
            self._handle(*self._heard.pop(0))
        if not self.ended and not self._open_tab():
            self.ended = True  # the person closed the window
            return
        now = time.monotonic()
        if self._pending and not self._pending[0]["element"]["field"] and now - self._pending[3] > CLICK_WAIT_S:
            self._flush()
        if now - self._looked > FRESH_S and not self._typing and self._scroll_look is None:
            self._look()

    def _open_tab(self) -> bool:
        pages = [p for p in self.browser.context.pages if not p.is_closed()]
        if pages and self.page.is_closed():
            self.browser.page = pages[-1]
        return bool(pages)

    def _look(self) -> None:
        try:
            self._looks = [*self._looks[-1:], self.browser.observe()]
        except (MolmoAgentError, PlaywrightError):
            return  # a page in the middle of leaving: the last look stands
        self._looked = time.monotonic()

    @property
    def look(self) -> Observation:
        return self._looks[-1]

    def _handle(self, page, frame, event: dict) -> None:
        kind, now = event["kind"], time.monotonic()
        if kind == "end":
            self._flush()
            self.ended = True
            return
        ox, oy = frame_offset(frame) if frame is not None else (0.0, 0.0)
        element = event.get("element")
        if element:
            box = element["box"]
            element["box"] = {**box, "x": box["x"] + ox, "y": box["y"] + oy}
        point = (event["x"] + ox, event["y"] + oy) if "x" in event else \
            (element["box"]["x"] + element["box"]["width"] / 2, element["box"]["y"] + element["box"]["height"] / 2) \
            if element else None
        if kind in ("click", "dblclick", "typing", "typed", "select", "key", "scroll", "scrolling"):
            self._last_act = now
        match kind:
            case "click":
                self._flush()
                self._pending = (event, point, self.look, now)
            case "dblclick":
                if self._pending and self._pending[0]["element"]["id"] == element["id"]:
                    _, point, look, _ = self._pending
                    self._pending = None
                    self._pointed(A.DoubleClick, element, point, look)
                else:
                    self._flush()
                    self._pointed(A.DoubleClick, element, point, self.look)
            case "typing":
                look, point = self._continuing(element, point)
                self._typing[element["id"]] = (look, point)
            case "typed":
                look, point = self._typing.pop(element["id"], None) or self._continuing(element, point)
                text = "{{" + element["secret"] + "}}" if element["secret"] else event["value"]
                self._pointed(A.Type, element, point, look, text=text)
            case "select":
                look, point = self._continuing(element, point)
                self._pointed(A.SelectOption, element, point, look, option=event["option"])
            case "key":
                self._flush()
                self._write(A.Press(key=event["key"]), self.look)
            case "scrolling":
                self._flush()
                self._scroll_look = self._scroll_look or self.look
            case "scroll":
                dx, dy = event["dx"], event["dy"]
                direction = ("down" if dy > 0 else "up") if abs(dy) >= abs(dx) else ("right" if dx > 0 else "left")
                look, self._scroll_look = self._scroll_look or self.look, None
                self._write(A.Scroll(direction=direction, amount=round(max(abs(dx), abs(dy)))), look)
            case "loaded":
                self._navigated(page, event, now)
            case "tab" if now - self._last_act > UNEXPLAINED_S:
                self._flush()
                self._write(A.NewTab(), self.look)
            case "shown" if page is not self.page and page in self.browser.context.pages:
                self._flush()
                self._write(A.SwitchTab(index=self.browser.context.pages.index(page)), self.look)
                self.browser.page = page

    def _continuing(self, element: dict, point) -> tuple[Observation, tuple[float, float]]:
        """The look and point for what follows a click on this field: the click's own, which it replaces."""
        if self._pending and self._pending[0]["element"]["id"] == element["id"]:
            _, point, look, _ = self._pending
            self._pending = None
            return look, point
        self._flush()
        return self.look, point

    def _navigated(self, page, event: dict, now: float) -> None:
        """A document reached by the address bar or the Back button, not by an action in the page."""
        if page is not self.page or now - self._last_act < UNEXPLAINED_S or event["how"] not in ("navigate", "back_forward"):
            return
        before = next((look for look in reversed(self._looks) if look.url != event["url"]), self.look)
        if event["how"] == "navigate" and event["url"] == before.url:
            return
        self._flush()
        self._write(A.Back() if event["how"] == "back_forward" else A.Goto(url=event["url"]), before)

    # -- writing --------------------------------------------------------------------------------
    def _flush(self) -> None:
        """The click that was waiting, written as a click."""
        if self._pending is not None:
            event, point, look, _ = self._pending
            self._pending = None
            self._pointed(A.Click, event["element"], point, look, button=event.get("button", "left"))

    def _pointed(self, kind, element: dict, point, look: Observation, **fields) -> None:
        name = element["name"] or None
        intent = kind(target=name, **fields)
        action = intent.model_copy(update={"x": round(point[0], 1), "y": round(point[1], 1)})
        box = Box(**element["box"])
        grounding = [Grounding(target=name, field=element["field"], css=[(action.x, action.y)],
                               box=box, image_size=look.image_size)] if name else []
        self._write(intent, look, action=action, grounding=grounding,
                    element=ElementRecord(tag=element["tag"], role=element["role"], name=element["name"]))

    def _write(self, intent: A.Action, look: Observation, *, action: A.Action | None = None,
               grounding: list[Grounding] = (), element: ElementRecord | None = None) -> None:
        self._steps += 1
        shot = self.writer.screenshot(f"step-{self._steps:03d}", look.screenshot)
        self.writer.write(StepRecord(
            index=self._steps,
            observation=ObservationRecord.of(look, shot),
            thought=to_step(intent) or "", intent=intent, grounding=list(grounding), action=action or intent,
            element=element, outcome=Outcome(ok=True)))

    def until_done(self, said: queue.Queue[str], tell: Callable[[str], None]) -> Trace:
        """Write what the person does until they end the recording (the end key, closing the window, or
        `done ["answer"]` on a line of `said`), then finish it. Ctrl-C finishes it as interrupted, with every
        step so far kept. `tell` shows the person a line."""
        answer, status = None, "success"
        try:
            while not self.ended:
                self.pump(0.1)
                while not said.empty():
                    line = said.get().strip()
                    try:
                        step = parse_step(line) if line else None
                    except MolmoAgentError:
                        step = None
                    if isinstance(step, A.Done):
                        answer, self.ended = step.answer, True
                    elif line:
                        tell('type done, or done "answer", to end the recording')
        except KeyboardInterrupt:
            tell("stopped: the steps so far are kept")
            status = "interrupted"
        return self.finish(answer=answer, status=status)

    def finish(self, answer: str | None = None, status: str = "success") -> Trace:
        """The end record, with the page as it is now; the trace as written."""
        self._flush()
        self.finished = True
        self._look()
        self.answer = answer if answer is not None else self.answer
        if status == "success":  # the person said they were done: a step, as a run's done is, that models learn
            self._write(A.Done(answer=self.answer), self.look)
        final = self.writer.screenshot("final", self.look.screenshot)
        self.writer.write(TraceEnd(status=status, answer=self.answer, steps=self._steps,
                                   seconds=round(time.monotonic() - self._started, 2), final_screenshot=final,
                                   final_url=self.look.url))
        self.writer.close()
        return read_trace(self.writer.dir)


def steps_text(trace: Trace) -> str:
    """The recording's steps, one a line, that `run` reads; a step the language cannot say is a comment."""
    lines = []
    for step in trace.steps:
        said = to_step(step.intent)
        lines.append(said if said else f"# step {step.index}: {step.action.describe() if step.action else step.intent.describe()}")
    return "\n".join(lines) + "\n"


def pytest_text(trace: Trace) -> str:
    """A test using the plugin's `agent` fixture: the recorded steps on a fresh page, healing when the page moves."""
    name = "".join(c if c.isalnum() else "_" for c in (trace.header.goal or "recording").lower()).strip("_")[:50]
    steps = steps_text(trace)
    plain = '"""' not in steps and "\\" not in steps  # as it reads in the steps file, where it can be
    said = f'"""\\\n{steps}"""' if plain else json.dumps(steps)
    return (f'"""Recorded with `molmo-agent record` on {trace.header.created_at[:10]}: {trace.header.goal}"""\n\n'
            f"STEPS = {said}\n\n\n"
            f"def test_{name or 'recording'}(page, agent):\n"
            f"    page.goto({json.dumps(trace.header.start_url)})\n"
            f"    agent.run(STEPS)\n")
