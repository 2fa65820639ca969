"""A policy answers "what next?" with an action; it never carries one out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from ..actions import Action
from ..models.sampling import POLICY as POLICY_SAMPLING
from ..models.sampling import Sampling
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
    """`decide` answers from the observation and the steps so far. A policy that reads no pixels (the step
    language's) says so with `sees_pixels = False`, and decides while the screenshot is still coming."""

    name: str

    def decide(self, observation: Observation, history: list["StepRecord"]) -> Decision: ...


class ModelPolicy:
    """A policy that shows a model the screenshot and a prompt each step and reads its answer as a decision.

    `model` generates text from (images, prompts): an in-process `MolmoModel`, or one behind HTTP
    (`models.endpoint`). Answers are sampled as `sampling` says (MolmoWeb's 0.7 / 0.8 by default).
    """

    name = "model"

    def __init__(self, model, *, sampling: Sampling = POLICY_SAMPLING) -> None:
        self.model, self.sampling = model, sampling
        self.goal = ""

    def start(self, goal: str) -> None:
        self.goal = goal

    def decide(self, observation: Observation, history: list["StepRecord"]) -> Decision:
        prompt = self.prompt(observation, history)
        [text] = self.model.generate([viewport_image(observation)], [prompt], **self.sampling.options(),
                                     **self.context(observation, history))
        return self.read(text, observation, history)

    def prompt(self, observation: Observation, history: list["StepRecord"]) -> str:
        raise NotImplementedError

    def context(self, observation: Observation, history: list["StepRecord"]) -> dict:
        """What a server's API takes beside the prompt (MolmoWeb's `past_actions`); models ignore what they
        do not use."""
        return {}

    def read(self, text: str, observation: Observation, history: list["StepRecord"]) -> Decision:
        raise NotImplementedError
