"""A policy answers "what next?" with an action; it never carries one out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from ..actions import Action
from ..observation import Observation
from ..pointers.prompts import viewport_image
from ..trace.records import ReplayStep

if TYPE_CHECKING:
    from ..trace.records import StepRecord


class Decision(BaseModel):
    action: Action
    thought: str = ""
    raw: str | None = None
    """The model's own text, for model-driven policies."""
    replay: "ReplayStep | None" = None
    """How the page compared with the recording, for the replay policy."""


class Policy(Protocol):
    name: str

    def decide(self, observation: Observation, history: list["StepRecord"]) -> Decision: ...


class ModelPolicy:
    """A policy that shows a model the screenshot and a prompt each step and reads its answer as a decision.

    `model` generates text from (images, prompts): an in-process `MolmoModel` or a `ChatEndpoint`.
    """

    name = "model"
    max_tokens = 160

    def __init__(self, model) -> None:
        self.model = model
        self.goal = ""

    def start(self, goal: str) -> None:
        self.goal = goal

    def decide(self, observation: Observation, history: list["StepRecord"]) -> Decision:
        prompt = self.prompt(observation, history)
        [text] = self.model.generate([viewport_image(observation)], [prompt], max_new_tokens=self.max_tokens)
        return self.read(text, observation)

    def prompt(self, observation: Observation, history: list["StepRecord"]) -> str:
        raise NotImplementedError

    def read(self, text: str, observation: Observation) -> Decision:
        raise NotImplementedError
