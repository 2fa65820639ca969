"""`molmoweb` policy: a MolmoWeb checkpoint decides each action from the screenshot and its own prompt.

The prompt and the actions are MolmoWeb's published protocol (`protocols/molmoweb.py`). How a run ends
follows MolmoWeb's harness: `[ANSWER] ...` records the answer and the run goes on, `[EXIT]` ends it with
success; `report_infeasible` and unreadable answers are recorded and the run goes on (a sampling model may
answer otherwise next time) until three come in a row.
"""

from __future__ import annotations

from .. import actions as A
from ..observation import Observation
from ..protocols import molmoweb
from .base import Decision, ModelPolicy

GIVE_UP = 3
"""report_infeasible (or unreadable) answers in a row that end the run as failed."""


def _infeasible_in_a_row(history: list) -> int:
    count = 0
    for step in reversed(history):
        if not isinstance(step.intent, A.Infeasible):
            break
        count += 1
    return count


class MolmoWebPolicy(ModelPolicy):
    name = "molmoweb"

    def __init__(self, model, *, history: int = molmoweb.HISTORY, **options) -> None:
        super().__init__(model, **options)
        self.keep = history

    def prompt(self, observation: Observation, history: list) -> str:
        return molmoweb.prompt(self.goal, molmoweb.history(history, observation.viewport),
                               page_index=observation.active_tab, title=observation.title, url=observation.url,
                               keep=self.keep)

    def context(self, observation: Observation, history: list) -> dict:
        shown = molmoweb.history(history, observation.viewport)[-self.keep:] if self.keep else []
        return {"past_actions": [step.model_dump() for step in shown]}

    def read(self, text: str, observation: Observation, history: list) -> Decision:
        answer = molmoweb.read_answer(text)
        action = molmoweb.to_action(answer.action, observation.viewport)  # the image sent is at CSS size
        if isinstance(action, A.Message) and action.text.startswith(molmoweb.EXIT):
            action = A.Done(answer=molmoweb.exit_answer(action.text, [step.intent for step in history]))
        elif isinstance(action, A.Infeasible) and _infeasible_in_a_row(history) >= GIVE_UP - 1:
            action = A.Fail(reason=action.reason)
        return Decision(action=action, thought=answer.thought, raw=text)
