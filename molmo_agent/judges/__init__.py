"""Judges: a vision chat model decides whether a finished run did its task, from the run's trace alone.

    records.py     what a judgment is (each call's prompt, images and answer) and where it is kept
    evidence.py    what a judge reads from a trace: task text, final response, actions, screenshots
    webvoyager.py  WebVoyager's auto-evaluator: one call, SUCCESS / NOT SUCCESS
    webjudge.py    Online-Mind2Web's WebJudge: key points, a score per screenshot, a final status
"""

from .records import JUDGE_DIR, JudgeCall, Judgment, load_judgments, save_judgment
from .judge import METHODS, Judge, make_judge

__all__ = ["JUDGE_DIR", "METHODS", "Judge", "JudgeCall", "Judgment", "load_judgments", "make_judge", "save_judgment"]
