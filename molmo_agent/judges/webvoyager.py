"""WebVoyager's auto-evaluator, in our words: the task, the agent's response and its last screenshots in one
call; the verdict is SUCCESS or NOT SUCCESS (FAILURE is read as NOT SUCCESS)."""

from __future__ import annotations

import re

from ..trace import Trace
from .evidence import evidence
from .judge import Judge
from .records import Judgment

SYSTEM = """You judge whether a web agent accomplished a task in a web browser.
You are given the task, the agent's final response, and screenshots of the browser taken while it worked, the last one showing where it ended.
The screenshots are the evidence. Where the response claims something the screenshots do not show, or contradicts them, believe the screenshots.
A task with several parts is accomplished only when every part is; a response that only describes what could be done does not accomplish it.
Explain your reasoning briefly, then end with a line holding exactly one of: SUCCESS or NOT SUCCESS."""

FAILED = re.compile(r"\bNOT\s+SUCCESS\b|\bFAILURE\b", re.I)
SUCCEEDED = re.compile(r"\bSUCCESS\b", re.I)


def read_verdict(answer: str | None) -> str:
    if not answer:
        return "unknown"
    if FAILED.search(answer):
        return "failure"
    return "success" if SUCCEEDED.search(answer) else "unknown"


class WebVoyagerJudge(Judge):
    method = "webvoyager"

    def __init__(self, *args, last_screenshots: int = 15, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.last = last_screenshots

    def judge(self, trace: Trace) -> Judgment:
        seen = evidence(trace, site_prefix=True)
        shots = seen.screenshots[-self.last:]
        parts = [f"Task: {seen.task}\nFinal response: {seen.response or '(none)'}\n"
                 f"The last {len(shots)} screenshots follow, oldest first."]
        for shot in shots:
            parts += [f"Screenshot of {shot.label}:", shot]
        call = self.ask(trace.dir, "verdict", SYSTEM, parts)
        return self._judgment(read_verdict(call.answer), [call])
