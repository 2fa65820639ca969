"""`steps` policy: follows a plan written in the step language (`language.steps`), one step at a time."""

from __future__ import annotations

from .. import actions as A
from ..language import parse_plan
from ..observation import Observation
from .base import Decision


class StepsPolicy:
    name = "steps"
    sees_pixels = False  # it decides while the screenshot is still coming

    def __init__(self, plan: str | list[A.Action] | None) -> None:
        """`plan=None` reads the plan from the goal when the run starts (a goal found on the page)."""
        self.actions = parse_plan(plan) if isinstance(plan, str) else list(plan or [])
        self._plan_from_goal = plan is None

    def start(self, goal: str) -> None:
        if self._plan_from_goal:
            self.actions = parse_plan(goal)

    def decide(self, observation: Observation, history: list) -> Decision:
        index = len(history)
        if index >= len(self.actions):
            return Decision(action=A.Done(), thought="plan finished")
        return Decision(action=self.actions[index], thought=f"plan step {index + 1} of {len(self.actions)}")
