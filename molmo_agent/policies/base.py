"""A policy answers "what next?" with an action; it never carries one out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from ..actions import Action
from ..observation import Observation

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
