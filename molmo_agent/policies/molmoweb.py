"""`molmoweb` policy: a MolmoWeb checkpoint decides each action from the screenshot and its own prompt.

The prompt and the actions are MolmoWeb's published protocol (`protocols/molmoweb.py`); answers are read as
their agent reads them. The run is carried out and ended as their harness does (`harness.MOLMOWEB`):
`[ANSWER] ...` is said and the episode goes on to `[EXIT]` (or, as their client does, `[ANSWER]` ends it
too); `report_infeasible` and unreadable answers are recorded and the run goes on.
"""

from __future__ import annotations

from .. import actions as A
from ..harness import MOLMOWEB, Harness
from ..observation import Observation
from ..protocols import molmoweb
from .base import Decision, ModelPolicy


class MolmoWebPolicy(ModelPolicy):
    name = "molmoweb"

    def __init__(self, model, *, history: int = molmoweb.HISTORY, harness: Harness = MOLMOWEB, **options) -> None:
        super().__init__(model, **options)
        self.keep, self.harness = history, harness

    def prompt(self, observation: Observation, history: list) -> str:
        return molmoweb.prompt(self.goal, molmoweb.history(history, observation.viewport),
                               page_index=observation.active_tab, title=observation.title, url=observation.url,
                               keep=self.keep)

    def context(self, observation: Observation, history: list) -> dict:
        shown = molmoweb.history(history, observation.viewport)[-self.keep:]  # [-0:] is all of them, as theirs
        return {"past_actions": [step.model_dump() for step in shown]}

    def read(self, text: str, observation: Observation, history: list) -> Decision:
        try:
            answer = molmoweb.read_answer(text)
            action = molmoweb.to_action(answer.action, observation.viewport)  # the image sent is at CSS size
        except molmoweb.AnswerError as exc:  # their harness ends the episode here (ACTION_PREDICTION_ERROR)
            return Decision(action=A.Fail(reason=f"the answer cannot be carried out: {exc}"), raw=text)
        return Decision(action=action, thought=answer.thought, raw=text)
