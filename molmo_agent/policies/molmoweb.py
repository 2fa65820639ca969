"""`molmoweb` policy: MolmoWeb decides the whole next action from the screenshot and a sectioned prompt.

The prompt has GOAL / PREVIOUS STEPS / CURRENTLY ACTIVE PAGE / NEXT STEP; the answer is JSON
`{"thought": ..., "action": {"name": "click", "x": 61.5, "y": 40.6}}` with x and y in percent.
"""

from __future__ import annotations

import json

from .. import actions as A
from ..errors import PointParseError
from ..observation import Observation
from ..points import parse_molmoweb
from .base import Decision, ModelPolicy


NAMES = {"click": "click", "double_click": "dblclick", "hover": "hover_at", "drag": "mouse_drag_and_drop",
         "type": "keyboard_type", "press": "keyboard_press", "scroll": "scroll", "goto": "goto",
         "back": "browser_nav", "done": "send_msg_to_user", "fail": "report_infeasible", "wait": "noop",
         # Not MolmoWeb's: native <select> pop-ups are invisible, so models trained here learn this one.
         "select_option": "select_option"}


def from_action(action: A.Action, viewport: tuple[int, int]) -> dict | None:
    """Our action (CSS pixels) as MolmoWeb's (percent); None where MolmoWeb has no such action."""
    name = NAMES.get(action.name)
    if name is None:
        return None
    out: dict = {"name": name}
    for key in ("x", "y", "to_x", "to_y"):
        value = getattr(action, key, None)
        if value is not None:
            out[key] = round(100 * value / viewport[0 if "x" in key else 1], 1)
    for key in ("text", "key", "url", "direction", "option"):
        if getattr(action, key, None) is not None:
            out[key] = getattr(action, key)
    if isinstance(action, A.Done) and action.answer:
        out["msg"] = action.answer
    if isinstance(action, A.Back):
        out["direction"] = "back"
    return out


def previous_steps(steps: list, viewport: tuple[int, int]) -> list[str]:
    """Each earlier step as the JSON action it was: the same text whoever decided it."""
    described = []
    for step in steps:
        action = from_action(step.action, viewport) if step.action is not None else None
        described.append(json.dumps(action) if action else step.intent.describe())
    return described


def molmoweb_prompt(goal: str, previous: list[str], title: str, url: str) -> str:
    done = "\n".join(f"{i + 1}. {line}" for i, line in enumerate(previous)) or "none"
    return f"GOAL: {goal}\n\nPREVIOUS STEPS:\n{done}\n\nCURRENTLY ACTIVE PAGE: {title} ({url})\n\nNEXT STEP:"


def to_action(action: dict, viewport: tuple[int, int], text: str) -> A.Action:
    """MolmoWeb's action (percent coordinates) as ours (CSS pixels)."""
    def px(key: str, axis: int) -> float | None:
        value = action.get(key)
        return None if value is None else float(value) * viewport[axis] / 100

    name = action["name"]
    try:
        match name:
            case "click" | "dblclick" | "hover_at":
                cls = {"click": A.Click, "dblclick": A.DoubleClick, "hover_at": A.Hover}[name]
                return cls(x=px("x", 0), y=px("y", 1))
            case "mouse_drag_and_drop":
                return A.Drag(x=px("x", 0), y=px("y", 1), to_x=px("to_x", 0), to_y=px("to_y", 1))
            case "keyboard_type":
                return A.Type(text=str(action["text"]), x=px("x", 0), y=px("y", 1))
            case "select_option":
                return A.SelectOption(option=str(action["option"]), x=px("x", 0), y=px("y", 1))
            case "keyboard_press":
                return A.Press(key=str(action["key"]))
            case "scroll" | "scroll_at":
                return A.Scroll(direction=action.get("direction", "down"), x=px("x", 0), y=px("y", 1))
            case "goto":
                return A.Goto(url=str(action["url"]))
            case "browser_nav":
                return A.Back()
            case "send_msg_to_user":
                return A.Done(answer=action.get("msg"))
            case "report_infeasible":
                return A.Fail(reason=str(action.get("reason") or action.get("msg") or "the model says it cannot"))
            case "noop":
                return A.Wait(seconds=1)
    except (KeyError, TypeError, ValueError) as exc:
        raise PointParseError(f"MolmoWeb action {name!r} is missing or has a bad field: {exc}", text) from None
    raise PointParseError(f"unknown MolmoWeb action {name!r}", text)


class MolmoWebPolicy(ModelPolicy):
    name = "molmoweb"

    def prompt(self, observation: Observation, history: list) -> str:
        previous = previous_steps(history, observation.viewport)
        return molmoweb_prompt(self.goal, previous, observation.title, observation.url)

    def read(self, text: str, observation: Observation) -> Decision:
        thought, action = parse_molmoweb(text)
        return Decision(action=to_action(action, observation.viewport, text), thought=thought, raw=text)
