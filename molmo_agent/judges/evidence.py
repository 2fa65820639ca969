"""What a judge reads from a trace."""

from __future__ import annotations

from pydantic import BaseModel

from .. import actions as A
from ..language.narration import narrate
from ..protocols.molmoweb import EXIT
from ..trace import Trace


class Screenshot(BaseModel):
    label: str
    path: str
    """relative to the run directory"""


class Evidence(BaseModel):
    task: str
    response: str
    actions: list[str]
    screenshots: list[Screenshot]


def evidence(trace: Trace, *, site_prefix: bool) -> Evidence:
    """`site_prefix`: say the task as "On {start page}: {goal}" when the run started on the site (WebVoyager's
    judge reads tasks that way; a run started blank already has it in its goal)."""
    header = trace.header
    start = header.start_url or ""
    task = f"On {start}: {header.goal}" if site_prefix and start and not start.startswith("about:") else header.goal
    said = [s.intent.text for s in trace.steps if isinstance(s.intent, A.Message) and EXIT not in s.intent.text]
    # The agent's answer, else its last message: never why the run failed, which the agent did not say.
    response = (trace.end.answer if trace.end and trace.end.answer else None) or (said[-1] if said else "")
    actions = [narrate(s.action or s.intent, s.element) for s in trace.steps
               if not isinstance(s.action or s.intent, (A.Done, A.Message))]
    shots = [Screenshot(label=f"step {s.index}", path=s.observation.screenshot) for s in trace.steps]
    if trace.end and trace.end.final_screenshot:
        shots.append(Screenshot(label="the final page", path=trace.end.final_screenshot))
    return Evidence(task=task, response=response, actions=actions, screenshots=shots)
