"""The trace format: one JSON line per record in `trace.jsonl`, screenshots beside it.

    {"type": "header", ...}   once, first
    {"type": "step", ...}     one per step, flushed to disk before the next step begins
    {"type": "end", ...}      once, last; absent when the run was killed
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ..actions import Action
from ..checks import Check
from ..observation import Box, Observation, Seen, Tab
from ..points import Point

FORMAT_VERSION = 1
Status = Literal["success", "failed", "interrupted", "error"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TraceHeader(_Record):
    type: Literal["header"] = "header"
    format_version: int = FORMAT_VERSION
    run_id: str
    created_at: str
    goal: str
    start_url: str | None
    policy: str
    policy_model: dict | None = Field(None, description="the model a planner or molmoweb policy asks")
    harness: dict | None = Field(None, description="how the run was carried out and what ended it (the policy's "
                                 "profile: name, guards, end_at_answer, wait_scale)")
    pointer: dict
    viewport: tuple[int, int]
    scale: float
    max_steps: int
    versions: dict[str, str]
    site: str | None = Field(None, description="local folder the tool served the site from")
    site_url: str | None = Field(None, description="base URL it was served at during this run")
    checks: list[Check] = Field(default_factory=list, description="what had to hold at done")
    replay_of: str | None = Field(None, description="run directory this run replayed")
    replay_mode: Literal["exact", "reground", "check"] | None = None


class ObservationRecord(_Record):
    url: str
    title: str
    screenshot: str = Field(description="path of the PNG, relative to the run directory")
    image_size: tuple[int, int]
    tabs: list[Tab]
    active_tab: int
    dom_signature: str

    @classmethod
    def of(cls, observation: "Observation", screenshot: str) -> "ObservationRecord":
        """What a trace keeps of a look at the page, its screenshot written at `screenshot`."""
        return cls(url=observation.url, title=observation.title, screenshot=screenshot,
                   image_size=observation.image_size, tabs=observation.tabs, active_tab=observation.active_tab,
                   dom_signature=observation.dom_signature)


class Grounding(_Record):
    """One question to the pointer and its answer."""

    target: str
    field: bool = False
    raw: str | None = None
    points: list[Point] = Field(default_factory=list, description="in the pointer's own space")
    image_size: tuple[int, int] | None = None
    css: list[tuple[float, float]] = Field(default_factory=list, description="the same points in CSS pixels")
    box: Box | None = Field(None, description="the target element's box in CSS pixels, where the pointer knows it")
    cache: Literal["hit", "healed"] | None = Field(None, description="hit: the point cache answered, no pointer "
                                                   "call; healed: the cached point no longer matched, re-grounded")
    seen: list[Seen] = Field(default_factory=list, description="what a pixel pointer made out on the screen on "
                             "the way (CSS px): controls, the text it matched, the control it chose")
    error: str | None = None
    seconds: float = 0.0


class ReplayStep(_Record):
    """How a replayed step compared with the recording."""

    source_step: int
    differences: list[str] = Field(default_factory=list, description="empty when the page matched")
    pixel_difference: float = Field(0.0, description="share of thumbnail pixels that differ")
    healed: bool = Field(False, description="re-grounded with the pointer after a divergence")


class Outcome(_Record):
    ok: bool
    error: str | None = None
    changed: list[Literal["url", "dom", "pixels", "tab", "value"]] = Field(default_factory=list)
    field_value_ok: bool | None = None
    events: list[str] = Field(default_factory=list, description="dialogs, new tabs, blocked navigations")


class ElementRecord(_Record):
    """What an action acted on, as the page names it: the element under its point, or the field that had focus
    for typing without one."""

    tag: str
    role: str | None = None
    name: str = ""


class StepRecord(_Record):
    type: Literal["step"] = "step"
    index: int
    observation: ObservationRecord
    thought: str = ""
    policy_raw: str | None = None
    intent: Action = Field(description="the action as the policy decided it, before grounding")
    grounding: list[Grounding] = Field(default_factory=list)
    action: Action | None = Field(None, description="the action carried out, with CSS coordinates")
    element: ElementRecord | None = Field(None, description="what the action acted on, read just before it")
    outcome: Outcome
    replay: ReplayStep | None = None
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per phase")


class TraceEnd(_Record):
    type: Literal["end"] = "end"
    status: Status
    reason: str | None = None
    answer: str | None = None
    reward: float | None = Field(None, description="the task's own reward, where it defines one")
    steps: int
    seconds: float
    final_screenshot: str | None = None
    final_url: str | None = None


Record = Annotated[Union[TraceHeader, StepRecord, TraceEnd], Field(discriminator="type")]
