"""How a run is carried out and what ends it: one profile, chosen by the policy.

Two profiles:
- `OURS` (the steps and planner policies): our guards are on. A typed value is checked, a failed action
  ends the run, the same action three times on an unchanged page ends it, three `report_infeasible`
  answers in a row end it, a right click is a right click; actions settle on evidence (a navigation, a new
  tab, queued tasks).
- `MOLMOWEB` (the molmoweb policy): as MolmoWeb's own harness does it (allenai/molmoweb's
  `utils/envs/action_executor.py`, `utils/envs/browser_env.py`, `utils/eval_utils/episode.py`; facts in
  shared/facts/molmoweb-protocol.md), so that a MolmoWeb checkpoint is measured as its published numbers
  were: no guards, a failed action is recorded and the episode goes on, their fixed waits after each action,
  and the episode ends at `[EXIT]` (their benchmark `Episode`) or also at `[ANSWER]` (their client).
  `guards=True` puts our guards back on top of it.

The loop asks `ending` after every step; nothing else decides when a run ends, apart from the task's own
rules (its step budget, time limits and page checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import actions as A
from .protocols.molmoweb import ANSWER, EXIT

if TYPE_CHECKING:
    from .trace.records import StepRecord

REPEAT_LIMIT = 3
"""With guards: the same action on an unchanged page this many times in a row ends the run."""
GIVE_UP = 3
"""With guards: report_infeasible (or unreadable) answers in a row that end the run."""


class Ending(BaseModel):
    status: Literal["success", "failed"]
    reason: str | None = None
    answer: str | None = None


class Harness(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Literal["ours", "molmoweb"]
    guards: bool
    """Our guards: typed values checked, failed actions, repeats and give-ups end the run, mouse buttons kept."""
    end_at_answer: bool = False
    """A message starting `[ANSWER]` ends the run (MolmoWeb's client); else only `[EXIT]` does (its `Episode`)."""
    wait_scale: float = Field(1.0, ge=0)
    """MolmoWeb's executor: its fixed waits after an action (and the two seconds it gives a new tab) times this.
    1 is theirs, as their published numbers were measured; less runs faster on pages that settle at once."""

    @property
    def executor(self) -> Literal["ours", "molmoweb"]:
        """How actions are carried out and how long the page is given afterwards."""
        return self.name

    def with_options(self, *, guards: bool | None = None, end_at_answer: bool | None = None,
                     wait_scale: float | None = None) -> "Harness":
        update = {k: v for k, v in (("guards", guards), ("end_at_answer", end_at_answer), ("wait_scale", wait_scale))
                  if v is not None}
        return self.model_validate({**self.model_dump(), **update})

    # -- what ends a run ----------------------------------------------------------------------------
    def ending(self, step: "StepRecord", history: list["StepRecord"]) -> Ending | None:
        """Whether the run ends after `step` (the last of `history`), and how; None goes on."""
        intent, action = step.intent, step.action
        if isinstance(intent, A.Done):
            return Ending(status="success", answer=intent.answer)
        if isinstance(intent, A.Fail):
            return Ending(status="failed", reason=intent.reason)
        if isinstance(intent, A.Message) and self._ends(intent.text):
            return Ending(status="success", answer=self.final_answer(history))
        if not step.outcome.ok and (self.guards or action is None):  # an action never found cannot go on
            return Ending(status="failed", reason=f"step {step.index}: {step.outcome.error}")
        if self.guards and _repeating(history):
            return Ending(status="failed",
                          reason=f"repeated {action.describe()} {REPEAT_LIMIT} times on an unchanged page")
        if self.guards and _infeasible_in_a_row(history) >= GIVE_UP:
            return Ending(status="failed", reason=f"{GIVE_UP} answers in a row were infeasible: {intent.reason}")
        return None

    def reads_changes(self, history: list["StepRecord"]) -> bool:
        """Whether `ending` after the last step of `history` asks what the steps changed, their pixels included
        (the guard against one action repeated on an unchanged page)."""
        return self.guards and _same_action_again(history)

    def _ends(self, message: str) -> bool:
        return message.startswith(EXIT) or (self.end_at_answer and message.startswith(ANSWER))

    def final_answer(self, history: list["StepRecord"]) -> str | None:
        """The run's answer when a message ends it.

        MolmoWeb's rule (`benchmarks/evaluate.py`, `read_trajectory`): `msg[9:]` of the last message that
        contains `[ANSWER]`, else the last message without `[EXIT]`, else the last thought. Ours: the last
        message starting `[ANSWER]` without its tag, else what follows `[EXIT]`."""
        messages = [s.intent.text for s in history if isinstance(s.intent, A.Message)]
        if self.name == "molmoweb":
            answers = [m[len(ANSWER) + 1:] for m in messages if ANSWER in m]
            said = [m for m in messages if EXIT not in m]
            thoughts = [s.thought for s in history if s.thought]
            return next(iter(answers[-1:] or said[-1:] or thoughts[-1:]), None)
        answers = [m[len(ANSWER):].strip() for m in messages if m.startswith(ANSWER)]
        exits = [m[len(EXIT):].strip() for m in messages if m.startswith(EXIT)]
        return next(iter(answers[-1:] or [e for e in exits[-1:] if e]), None)


OURS = Harness(name="ours", guards=True)
MOLMOWEB = Harness(name="molmoweb", guards=False)


def _same_action_again(history: list["StepRecord"]) -> bool:
    recent = history[-REPEAT_LIMIT:]
    if len(recent) < REPEAT_LIMIT or isinstance(recent[-1].action, A.Wait) or recent[-1].action is None:
        return False
    return all(s.action == recent[-1].action for s in recent)


def _repeating(history: list["StepRecord"]) -> bool:
    return _same_action_again(history) and all(not s.outcome.changed for s in history[-REPEAT_LIMIT:])


def _infeasible_in_a_row(history: list["StepRecord"]) -> int:
    count = 0
    for step in reversed(history):
        if not isinstance(step.intent, A.Infeasible):
            break
        count += 1
    return count
