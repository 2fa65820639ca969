"""The loop: observe, decide, ground, act, check, record."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import actions as A
from . import __version__, stopping
from .browser import Browser
from .checks import failed_checks
from .harness import OURS, Ending
from .errors import BrowserError, MolmoAgentError, PointerError, PointParseError
from .observation import Observation
from .pointers import Pointer, describe
from .points import to_css
from .policies import Decision, Policy
from .language import to_step
from .tasks import RunRules
from .trace import (ElementRecord, Grounding, ObservationRecord, Outcome, StepRecord, TraceEnd, TraceHeader,
                    TraceWriter)

if TYPE_CHECKING:
    from .cache import PointCache


class RunResult:
    def __init__(self, end: TraceEnd, run_dir: Path) -> None:
        self.end, self.run_dir = end, run_dir

    @property
    def status(self) -> str:
        return self.end.status

    def __repr__(self) -> str:
        return f"RunResult(status={self.status!r}, steps={self.end.steps}, dir={str(self.run_dir)!r})"


class Agent:
    def __init__(
        self,
        browser: Browser,
        policy: Policy,
        pointer: Pointer,
        writer: TraceWriter,
        *,
        rules: RunRules | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        header: dict | None = None,
        cache: "PointCache | None" = None,
    ) -> None:
        self.browser, self.policy, self.pointer, self.writer = browser, policy, pointer, writer
        self.cache = cache
        """Where targets were last time (`cache.PointCache`): a match acts without asking the pointer."""
        self.rules = rules or RunRules()
        self.harness = getattr(policy, "harness", OURS)
        """How actions are carried out and what ends the run: the policy's choice (`harness`)."""
        self.on_step = on_step
        caller_stop = should_stop or (lambda: False)
        self.should_stop = lambda: caller_stop() or stopping.requested()
        self.header_fields = header or {}
        """Extra header fields from the caller: the site served, what a replay replays."""
        self._unwritten: tuple[StepRecord, Observation, Observation] | None = None
        """The last step, its record waiting for the screenshot after it (`_write_last`)."""

    def run(self, goal: str, start_url: str | None) -> RunResult:
        started = time.perf_counter()
        rules = self.rules
        deadline = started + rules.time_limit_s if rules.time_limit_s else None
        history: list[StepRecord] = []
        status, reason, answer = "failed", f"step budget of {rules.max_steps} used up", None
        observation, header_written, stale = None, False, False
        try:
            goal = self._start(goal, start_url)
            self.writer.write(self._header(goal, start_url))
            header_written = True
            observation = self._observe()
            for index in range(1, rules.max_steps + 1):
                if self.should_stop():
                    raise KeyboardInterrupt
                if deadline is not None and time.perf_counter() > deadline:
                    status, reason = "failed", f"time limit of {rules.time_limit_s:g}s reached"
                    break
                stale = True  # until the step returns the page as it left it
                step, observation = self._step(index, observation, history)
                stale = False
                if rules.step_limit_s and (took := sum(step.timings.values())) > rules.step_limit_s:
                    status, reason = "failed", f"step {index} took {took:.0f}s, over the {rules.step_limit_s:g}s step limit"
                    break
                if changed := self._goal_changed(goal):
                    status, reason = "failed", changed
                    break
                ending = self.harness.ending(step, history)
                if rules.finish_when and ending is None and not failed_checks(self.browser, rules.finish_when):
                    ending = Ending(status="success")
                if ending is not None:
                    status, reason, answer = ending.status, ending.reason, ending.answer
                    if status == "success" and (failures := failed_checks(self.browser, rules.checks, answer)):
                        status, reason = "failed", "checks failed: " + "; ".join(failures)
                    break
        except KeyboardInterrupt:
            status, reason = "interrupted", "stopped by the user"
        except MolmoAgentError as exc:
            status, reason = "error", str(exc)
        except Exception:
            if not self.should_stop():
                raise
        if status != "success" and self.should_stop():  # whatever broke on the stop's way is the stop
            status, reason = "interrupted", "stopped by the user"
        self._write_last()
        if not header_written:
            self.writer.write(self._header(goal, start_url))
        end = TraceEnd(status=status, reason=reason, answer=answer, steps=self.writer.steps,
                       seconds=round(time.perf_counter() - started, 3))
        try:
            if rules.reward and observation is not None:
                end.reward = float(self.browser.evaluate(f"() => ({rules.reward})") or 0)
            # The last step's own after-look is the final page, unless the run stopped in the middle of one.
            final = (self._observe() if stale else observation) if observation is not None else None
            if final is not None:
                end.final_screenshot = self.writer.screenshot("final", final.screenshot)
                end.final_url = final.url
        except Exception:  # noqa: BLE001 - a dead browser must not lose the end record
            pass
        self.writer.write(end)
        return RunResult(end, self.writer.dir)

    def _start(self, goal: str, start_url: str | None) -> str:
        """Open the start page, run the task's setup, and read the goal there if the task says so."""
        if start_url:
            self.browser.goto(start_url)
        if self.rules.setup:
            self.browser.evaluate(f"() => {{ {self.rules.setup} }}")
        if self.rules.goal_from_page:
            goal = str(self.browser.evaluate(f"() => ({self.rules.goal_from_page})"))
        start = getattr(self.policy, "start", None)
        if start is not None:
            start(goal)
        return goal

    # -- one step -------------------------------------------------------------------------------
    def _step(self, index: int, observation: Observation, history: list[StepRecord]):
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        if getattr(self.policy, "sees_pixels", True):  # it waits for them: the last step's record first
            self._write_last()
        try:
            decision = self.policy.decide(observation, history)
        except (PointParseError, PointerError) as exc:  # a model policy's unreadable answer fails the step
            decision = Decision(action=A.Fail(reason=str(exc)), raw=getattr(exc, "text", None) or None)
        timings["decide"] = _lap(clock)
        groundings: list[Grounding] = []
        action, after, element = None, observation, None
        outcome = Outcome(ok=True)
        try:
            clock = time.perf_counter()
            action = self._ground(decision.action, observation, groundings)
            timings["ground"] = _lap(clock)
            element = self._acted_on(action)
            clock = time.perf_counter()
            self._write_last()  # the pixels before this action are in, and the last step is on disk
            observation.screenshot  # waits for them, if nothing before did
            timings["pixels"] = _lap(clock)  # what is left of the wait for the screenshot
            clock = time.perf_counter()
            acts = not isinstance(action, A.TERMINAL + A.SAYING)
            value_ok = self.browser.execute(action, self.harness) if acts else None
            timings["act"] = _lap(clock)
            if acts:
                clock = time.perf_counter()
                after = self._observe()
                timings["observe"] = _lap(clock)
                outcome.changed = _changes(observation, after, value_ok, pixels=False)
                outcome.field_value_ok = value_ok
                if value_ok is False:
                    outcome.ok, outcome.error = False, "the field does not hold the typed text"
        except (PointerError, PointParseError, BrowserError) as exc:
            outcome.ok, outcome.error = False, str(exc)
        self._write_last()  # where the step failed before its action
        shot = self.writer.screenshot(f"{index:04d}", observation.screenshot)  # the pixels from before the action
        outcome.events = self.browser.drain_events()
        step = StepRecord(
            index=index, observation=ObservationRecord.of(observation, shot), thought=decision.thought,
            policy_raw=decision.raw, intent=decision.action, grounding=groundings, action=action,
            element=element, outcome=outcome, replay=decision.replay, timings=timings,
        )
        history.append(step)  # the run's end is decided with it; its record is on disk before anything else acts
        self._unwritten = (step, observation, after)
        if after is observation or (not outcome.changed and self.harness.reads_changes(history)):
            self._write_last()  # nothing to wait for, or the pixels decide whether the run ends
        return step, after

    def _write_last(self) -> None:
        """Write the last step's record, once the screenshot after its action is in (whether the pixels changed
        is part of it). The loop calls this before the next action or a wait on the pixels, so that a step's
        record is on disk before anything else is done to the page, and a kill loses no finished step."""
        if self._unwritten is None:
            return
        step, before, after = self._unwritten
        try:
            step.outcome.changed = _changes(before, after, step.outcome.field_value_ok)
        except Exception:  # noqa: BLE001 - the page went before its look came: the record keeps the rest
            pass
        self._unwritten = None  # a Ctrl-C in the wait above leaves it for the run's end to write
        self.writer.write(step)
        if self.on_step:
            self.on_step(step)

    def _acted_on(self, action: A.Action) -> ElementRecord | None:
        """The element under the action's point, or the focused field for typing without one: what a person
        reading the step would say was acted on (judges and exports describe steps with it)."""
        try:
            if isinstance(action, (A.POINTED, A.Wheel)) and getattr(action, "x", None) is not None:
                found = self.browser.element_at(action.x, action.y)
            elif isinstance(action, A.Type):
                found = self.browser.element_focused()
            else:
                return None
        except BrowserError:  # a page in the middle of navigating names nothing; the step goes on
            return None
        return ElementRecord.model_validate(found) if found else None

    def _observe(self) -> Observation:
        return self.browser.observe(elements=self.pointer.needs_elements, adopt_tabs=self.harness.executor == "ours",
                                    pixels_later=True)

    def _ground(self, action: A.Action, observation: Observation, groundings: list[Grounding]) -> A.Action:
        """Fill in the coordinates of an action that names its target but has none."""
        if not isinstance(action, A.POINTED) or not action.needs_grounding:
            return action
        if action.target is None:
            if isinstance(action, A.Type):
                return action  # types into whatever has focus
            raise PointerError(f"{action.name} has neither a target nor coordinates")
        step = to_step(action) or action.describe()  # the step as written: secrets by placeholder
        updates = dict(zip("xy", self._point(action.target, observation, groundings, step,
                                             field=isinstance(action, (A.Type, A.SelectOption)))))
        if isinstance(action, A.Drag):
            if action.to_target is None:
                raise PointerError("drag has no destination")
            updates.update(zip(("to_x", "to_y"), self._point(action.to_target, observation, groundings, step)))
        return action.model_copy(update=updates)

    def _point(self, target: str, observation: Observation, groundings: list[Grounding], step: str, *,
               field: bool = False):
        record = Grounding(target=target, field=field)
        groundings.append(record)
        clock = time.perf_counter()
        cache = {"step": step, "pointer": self.pointer.name}
        try:
            if self.cache is not None and (cached := self.cache.recall(self.browser, observation, record, **cache)):
                return cached
            if getattr(self.pointer, "sees_pixels", True):  # it waits for them, and may think a while: the record first
                self._write_last()
            answer = self.pointer.locate(target, observation, field=field)
        except (PointerError, PointParseError) as exc:
            record.error = str(exc)
            record.raw = getattr(exc, "text", None) or None
            raise
        finally:
            record.seconds = _lap(clock)
        record.raw, record.points, record.image_size, record.box = answer.raw, answer.points, answer.image_size, answer.box
        record.seen = answer.seen
        record.css = [
            tuple(round(v, 2) for v in to_css(p, image_size=answer.image_size, viewport=observation.viewport))
            for p in answer.points
        ]
        if self.cache is not None:
            self.cache.learn(self.browser, observation, record, **cache)
        return record.css[0]

    def _goal_changed(self, goal: str) -> str | None:
        """A page that gives the goal (MiniWoB) and restarts its episode on a timer gives a new one under the
        agent: the run ends there instead of carrying on with the old goal on the new episode."""
        if not self.rules.goal_from_page:
            return None
        now = str(self.browser.evaluate(f"() => ({self.rules.goal_from_page})"))
        return None if now == goal else f"the page restarted its episode with a new goal: {now!r}"

    def _header(self, goal: str, start_url: str | None) -> TraceHeader:
        from datetime import datetime, timezone
        from importlib.metadata import version

        config = self.browser.config
        model = getattr(self.policy, "model", None)
        return TraceHeader(
            run_id=self.writer.dir.name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            goal=goal, start_url=start_url, policy=self.policy.name,
            policy_model=model.describe() if model is not None else None, harness=self.harness.model_dump(),
            pointer=describe(self.pointer),
            viewport=config.viewport, scale=config.scale, max_steps=self.rules.max_steps,
            versions={"molmo_agent": __version__, "playwright": version("playwright"),
                      "browser": self.browser.version},
            checks=self.rules.checks, **self.header_fields,
        )


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 4)


def _changes(before: Observation, after: Observation, value_ok: bool | None, *, pixels: bool = True) -> list[str]:
    """What an action changed; the pixels only with `pixels` (the screenshot after it may still be coming)."""
    changed = []
    if before.url != after.url:
        changed.append("url")
    if before.active_tab != after.active_tab or len(before.tabs) != len(after.tabs):
        changed.append("tab")
    if before.dom_signature != after.dom_signature:
        changed.append("dom")
    if pixels and before.screenshot != after.screenshot:
        changed.append("pixels")
    if value_ok:
        changed.append("value")
    return changed
