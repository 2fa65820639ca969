"""Online-Mind2Web's WebJudge, in our words, in its three stages:

1. key points: the task's explicit requirements, listed by the model;
2. one call per screenshot (a JPEG, detail high): how much it bears on the key points, "Score: 1-5";
   screenshots scoring at least the threshold (3) are kept, the first 50 in the order they were taken, with
   the first paragraph of each reason;
3. the final call: task, key points, the actions taken (never the agent's own answer), the kept screenshots and
   their reasons; the answer ends with Status: "success" or "failure".

The prompts are ours; the answers are read as Online-Mind2Web's own WebJudge reads them (its
`src/methods/webjudge_online_mind2web.py` and `src/run.py`; shared/facts/online-mind2web-judge.md), except for
one quirk named in the README: theirs counts any status text containing "success" (so "unsuccessful") as a
success, ours reads the first of "success" and "failure" after "Status:".
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from ..trace import Trace
from .evidence import evidence
from .judge import Judge
from .records import Judgment

KEY_POINTS = """You list what a web agent must achieve to complete a task.
Name only the requirements the task states. Turn words such as "cheapest", "highest rated" or "most recent" into the sort or filter the agent must apply. Add nothing the task does not ask for.
Answer in this form:
**Key Points**:
1. ...
2. ..."""

SCREENSHOT = """You look at one screenshot from a web agent's work on a task and say how much it bears on the task's key points.
Answer in this form:
**Reasoning**: what the screenshot shows that matters for the key points, in one short paragraph.
**Score**: from 1 (nothing relevant) to 5 (shows a key point met, or decisive evidence about one)."""

FINAL = """You decide whether a web agent completed a task in a web browser.
You are given the task, its key points, the actions the agent took, and the screenshots judged most relevant, each with a note.
Judge from this evidence alone. Every key point must be met: filters and sorts applied as the task says, the requested item reached, nothing done that the task rules out. Actions that only look right are not enough where the screenshots do not confirm them.
Explain briefly, then end with a line: Status: "success" or Status: "failure"."""

STATUS = re.compile(r"\b(success|failure)\b")
MAX_KEPT = 50


def read_key_points(answer: str | None) -> str:
    """As theirs: the text after the first `**Key Points**:`, else after the last `Key Points:`, else all of
    it; blank lines dropped and each line's indent removed."""
    text = (answer or "").replace("\n\n", "\n")
    text = text.split("**Key Points**:", 1)[1] if "**Key Points**:" in text else text.split("Key Points:")[-1]
    return "\n".join(line.lstrip() for line in text.splitlines()).strip()


def read_score(answer: str | None) -> int:
    """As theirs: the first digit 1-5 between the first and the second "Score" (that case only); else 0."""
    parts = (answer or "").split("Score")
    found = re.findall(r"[1-5]", parts[1]) if len(parts) > 1 else []
    return int(found[0]) if found else 0


def read_status(answer: str | None) -> str:
    """After the first "status:" (any case), the first of "success" and "failure"; else unknown."""
    parts = (answer or "").lower().split("status:", 1)
    found = STATUS.search(parts[1]) if len(parts) > 1 else None
    return found[1] if found else "unknown"


def first_paragraph(answer: str) -> str:
    """As theirs: the reason after the last `**Reasoning**:` (else the whole answer), its first paragraph on
    one line."""
    return answer.split("**Reasoning**:")[-1].strip().split("\n\n")[0].replace("\n", " ")


class WebJudge(Judge):
    method = "webjudge"
    jpeg = True

    def __init__(self, *args, threshold: int = 3, workers: int = 8, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.threshold, self.workers = threshold, workers

    def judge(self, trace: Trace) -> Judgment:
        seen = evidence(trace, site_prefix=False)
        asked = self.ask(trace.dir, "key points", KEY_POINTS, [f"Task: {seen.task}"])
        if asked.answer is None:
            return self._judgment("unknown", [asked])
        points = read_key_points(asked.answer)
        header = f"Task: {seen.task}\nKey points:\n{points}"
        with ThreadPoolExecutor(self.workers) as pool:
            rated = list(pool.map(lambda shot: self.ask(trace.dir, f"screenshot of {shot.label}", SCREENSHOT,
                                                        [f"{header}\nScreenshot of {shot.label}:", shot]),
                                  seen.screenshots))
        calls = [asked, *rated]
        kept = [i for i, call in enumerate(rated) if read_score(call.answer) >= self.threshold][:MAX_KEPT]
        actions = "\n".join(f"{n}. {a}" for n, a in enumerate(seen.actions, 1)) or "(none)"
        shown = f"{len(kept)} screenshots follow, in the order they were taken." if kept else "No screenshot was relevant."
        parts = [f"{header}\nActions:\n{actions}\n{shown}"]
        for i in kept:
            parts += [f"Screenshot of {seen.screenshots[i].label}. Note: {first_paragraph(rated[i].answer)}",
                      seen.screenshots[i]]
        final = self.ask(trace.dir, "final", FINAL, parts)
        calls.append(final)
        failed = [c for c in calls if c.error]
        verdict = "unknown" if failed and final.answer is None else read_status(final.answer)
        return self._judgment(verdict, calls, key_points=points, kept_images=[seen.screenshots[i].path for i in kept])
