"""`planner` policy: a chat model reads the goal and the screenshot and names the next step in the step
language; the run's pointer then finds the element the step names.

Any OpenAI-compatible vision chat model can plan (vLLM, a hosted API, `serve`), or a Molmo2-family
checkpoint in this process. `export --format planner` writes the same prompts with the recorded steps as
answers, so a model can be taught to plan on the tool's own traces.
"""

from __future__ import annotations

import re

from ..errors import PointParseError, StepSyntaxError
from ..observation import Observation
from .base import Decision, ModelPolicy
from ..language import parse_step, to_step

INSTRUCTIONS = """You operate a web browser for a user. Answer with the next step only, in one of these forms:
click "VISIBLE TEXT OR LABEL" | type "TEXT" into "FIELD LABEL" | select "OPTION" in "FIELD LABEL" | press Enter | scroll down | scroll up | goto URL | back | done | done "ANSWER" | fail "REASON"
Name an element by the text a person sees on it or beside it. Say done once the goal is reached."""


def previous_steps(steps: list) -> list[str]:
    """Each earlier step as the planner would have said it, with how it went."""
    lines = []
    for step in steps:
        said = to_step(step.intent) or step.intent.describe()
        lines.append(said if step.outcome.ok else f"{said} (failed: {step.outcome.error or 'no effect'})")
    return lines


def planner_prompt(goal: str, previous: list[str], title: str, url: str) -> str:
    done = "\n".join(f"{i + 1}. {line}" for i, line in enumerate(previous)) or "none"
    return (f"{INSTRUCTIONS}\n\nGOAL: {goal}\n\nPREVIOUS STEPS:\n{done}\n\n"
            f"CURRENT PAGE: {title} ({url})\n\nNEXT STEP:")


def read_step(text: str):
    """The step in a planner's answer: the last line that is one (models often think aloud first)."""
    lines = [re.sub(r"^\s*(?:[-*>]\s+|\d+[.)]\s+|(?:next )?step:\s*)", "", line, flags=re.I).strip(" `*")
             for line in text.replace("```", "\n").splitlines()]
    for index in reversed(range(len(lines))):
        if not lines[index]:
            continue
        try:
            return parse_step(lines[index]), " ".join(lines[:index]).strip()
        except StepSyntaxError:
            continue
    raise PointParseError(f"the planner's answer holds no step: {text.strip()[:200]!r}", text)


class PlannerPolicy(ModelPolicy):
    name = "planner"

    def prompt(self, observation: Observation, history: list) -> str:
        return planner_prompt(self.goal, previous_steps(history), observation.title, observation.url)

    def read(self, text: str, observation: Observation, history: list) -> Decision:
        action, thought = read_step(text)
        return Decision(action=action, thought=thought, raw=text)
