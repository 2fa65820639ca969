"""MolmoWeb's published protocol: the prompt a checkpoint was trained on, its action JSON both ways.

Facts (from allenai/molmoweb's agent, see shared/facts/molmoweb-protocol.md):
- the prompt is ``molmo_web_think: `` then GOAL / PREVIOUS STEPS / CURRENTLY ACTIVE PAGE / NEXT STEP
  sections; each earlier step is a ``## Step i`` block with the model's thought and its action dict
  printed as Python prints a dict; the last N steps are shown with their numbers in the episode;
- coordinates are percent of the screenshot sent, mapped to pixels rounded to 0.1 and clamped to
  [1, size - 2]; scroll deltas are percent of the size too;
- an answer is ``{"thought": ..., "action": {"name": ...}}`` (a bare action is accepted); what cannot be
  read becomes ``report_infeasible`` with the raw text as the reason.

Our own action space is richer in places (typing at a point) and MolmoWeb's in others (messages that do not
end the episode): `to_model_steps` writes any recorded step as the answers the model would have given.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from .. import actions as A
from ..keys import normalize_key
from ..points import json_object

if TYPE_CHECKING:
    from ..trace.records import StepRecord

SYSTEM = "molmo_web_think"
GROUNDING = "web_grounding"
STYLES = (SYSTEM, GROUNDING, "screenshot_qa")
"""The prompt styles a MolmoWeb checkpoint was trained on: agent steps, pointing, questions on a screenshot."""
HISTORY = 10
"""Earlier steps shown by default: MolmoWeb's reference client and its training data use 10."""
TEXT_LIMIT = 100  # a title or URL longer than this is cut, the postfix included
MESSAGE_LIMIT = 1000
TRUNCATED = "... (truncated)"
ANSWER, EXIT = "[ANSWER]", "[EXIT]"
ALLOWED_KEYS = ("Enter", "Escape", "Backspace", "Tab", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
                "ControlOrMeta+a", "ControlOrMeta+c", "ControlOrMeta+v", "F5")
NOOP_SECONDS = 5.0
HOVER_SECONDS = 1.0
OURS = ("select_option",)
"""Not MolmoWeb's: native <select> pop-ups are invisible in screenshots, so models trained here learn this."""


class ModelStep(BaseModel):
    """One answer of the model, as MolmoWeb keeps it in its history."""

    thought: str = ""
    action: dict = Field(description="the action JSON, keys in the model's order")


# -- the prompt -------------------------------------------------------------------------------------
def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def prompt(goal: str, history: list[ModelStep], *, page_index: int, title: str, url: str,
           keep: int = HISTORY) -> str:
    """The text a MolmoWeb checkpoint is given beside the screenshot, byte for byte."""
    first = max(len(history) - keep, 0) if keep > 0 else 0  # as their `past_actions[-keep:]`: 0 shows all
    blocks = "".join(f"## Step {number}\nTHOUGHT: {step.thought}\nACTION: {step.action}\n"
                     for number, step in enumerate(history[first:], start=first + 1))
    user = (f"\n# GOAL\n{goal}\n\n# PREVIOUS STEPS\n{blocks}\n# CURRENTLY ACTIVE PAGE\n"
            f"Page {page_index}: {cut(title)} | {cut(url)}\n\n# NEXT STEP\n")
    return f"{SYSTEM}: {user}"


def grounding_prompt(target: str) -> str:
    """MolmoWeb's grounding mode: one element named, a bare click action answered. Their trainer joins the
    style and the rendered template with ": " and the template's final newline is dropped when rendered."""
    return f'{GROUNDING}: \n# GOAL\nClick "{target}".\n\n# ACTION\n'


def speaks(prompt: str) -> bool:
    """Whether `prompt` is in one of MolmoWeb's styles. Such prompts are given to a model as MolmoWeb's own
    backend gives them (`models.loading`): the text before the image, and no bidirectional attention over the
    image's tokens, with which MolmoWeb was not trained (their processor call: return_mm_token_type_ids=False)."""
    return prompt.startswith(tuple(f"{style}:" for style in STYLES))


# -- reading an answer ------------------------------------------------------------------------------
class AnswerError(ValueError):
    """An answer MolmoWeb's harness cannot turn into an action at all (their ACTION_PREDICTION_ERROR): a
    thought that is not text, an action that is not an object, a field of the wrong kind. Their episode
    ends there."""


def parse_answer(text: str) -> ModelStep | None:
    """The model's thought and action found anywhere in `text` (a lenient reading for exports of other
    models' traces), or None when the text holds no action."""
    data = json_object(text) if isinstance(text, str) else None
    action = data.get("action", data if "name" in data else None) if data else None
    if not isinstance(action, dict) or not isinstance(action.get("name"), str):
        return None
    thought = data.get("thought") if isinstance(data.get("thought"), str) else ""
    return ModelStep(thought=thought, action=_as_kept(action))


def read_answer(text: str | None) -> ModelStep:
    """The answer as MolmoWeb's agent reads it (`agent/multimodal_agent.py`): the whole text must be JSON
    with an `action` (or be a bare action with a `name`); anything else becomes report_infeasible whose
    thought starts with the error, the raw text its reason. An action without a name is kept as given (it
    is carried out as infeasible). Raises `AnswerError` where their harness ends the episode."""
    try:
        if text is None:
            raise ValueError("the model gave no text")
        data = json.loads(text)
        if "action" in data:
            action, thought = data["action"], data.get("thought", "")
        elif "name" in data:
            action, thought = data, ""
        else:
            raise ValueError("Expected 'action' or 'name' key in parsed JSON but didnt get it.")
    except Exception as exc:  # noqa: BLE001 - every way of failing is theirs to report as infeasible
        return ModelStep(thought=f"Could not parse predicted action: {exc}",
                         action={"name": "report_infeasible", "infeasibility_reason": f"Unparseable model output: {text}"})
    if not isinstance(action, dict):
        raise AnswerError(f"the answer's action is not an object: {action!r}")
    if not isinstance(thought, str):
        raise AnswerError(f"the answer's thought is not text: {thought!r}")
    return ModelStep(thought=thought, action=_as_kept(action))


def _as_kept(action: dict) -> dict:
    """The action as their history keeps it: a message cut to 1000 characters."""
    if action.get("name") == "send_msg_to_user":
        return {**action, "msg": cut(str(action.get("msg", "")), MESSAGE_LIMIT)}
    return action


def pixel(value, size: int, *, clamp: bool = True) -> float:
    """A percent as their agent maps it to pixels: rounded to 0.1, a coordinate kept inside [1, size - 2]."""
    if isinstance(value, bool) or not math.isfinite(float(value)):  # OverflowError (a huge JSON int) is caught above
        raise ValueError(f"{value!r} is not a coordinate")
    pixel = round(float(value) / 100 * size, 1)
    return max(1.0, min(pixel, size - 2.0)) if clamp else pixel


_ALLOWED = {k.lower(): k for k in ALLOWED_KEYS}


def _key(key) -> str | None:
    return _ALLOWED.get(str(key).lower()) if key is not None else None


def _wheel(action: dict, size: tuple[int, int], at: bool) -> A.Wheel:
    dx, dy = (pixel(action.get(k, 0.0), size[i], clamp=False) for i, k in enumerate(("delta_x", "delta_y")))
    where = {"x": pixel(action.get("x", 0.0), size[0]), "y": pixel(action.get("y", 0.0), size[1])} if at else {}
    return A.Wheel(delta_x=dx, delta_y=dy, **where)


def to_action(action: dict, size: tuple[int, int]) -> A.Action:
    """MolmoWeb's action as ours, in pixels of the image of `size` the model saw (send it at CSS size and
    these are CSS pixels), as their agent converts it. What their agent would turn into report_infeasible is
    `Infeasible`; what it could not convert at all (a coordinate that is not a number, a button that is not
    one) raises `AnswerError`."""
    name = action.get("name")

    def at(x: str = "x", y: str = "y") -> dict:
        return {"x": pixel(action.get(x, 0.0), size[0]), "y": pixel(action.get(y, 0.0), size[1])}

    try:
        match name:
            case "click" | "mouse_click":
                return A.Click(button=action.get("button", "left"), **at())
            case "dblclick":
                return A.DoubleClick(button=action.get("button", "left"), **at())
            case "hover_at":
                return A.Hover(duration=float(action.get("duration", HOVER_SECONDS)), **at())
            case "mouse_drag_and_drop" | "drag_and_drop":
                to = at("to_x", "to_y")
                return A.Drag(**at("from_x", "from_y"), to_x=to["x"], to_y=to["y"])
            case "scroll" | "scroll_at":
                return _wheel(action, size, at=name == "scroll_at")
            case "keyboard_type" | "type":
                return A.Type(text=str(action.get("text", "")), clear=False)
            case "keyboard_press" | "keypress":
                key = _key(action.get("key"))
                return A.Press(key=key) if key else A.Infeasible(reason=f"Unsupported keypress: {action}")
            case "goto":
                return A.Goto(url=str(action.get("url", "")))
            case "browser_nav":
                return _browser_nav(action)
            case "noop":
                return A.Wait(seconds=NOOP_SECONDS, reason=str(action.get("noop_reason", "loading")))
            case "send_msg_to_user":
                return A.Message(text=cut(str(action.get("msg", "")), MESSAGE_LIMIT))
            case "report_infeasible":
                return A.Infeasible(reason=str(action.get("infeasibility_reason", "Infeasibility reason unavailable")))
            case "select_option":
                return A.SelectOption(option=str(action["option"]), **at())
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: JSON integers have no size limit
        raise AnswerError(f"cannot carry out {action}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return A.Infeasible(reason=f"Unsupported action type: {name}. Predicted: {action}")


def _browser_nav(action: dict) -> A.Action:
    match action.get("nav_type", "go_back"):
        case "go_back":
            return A.Back()
        case "new_tab":
            return A.NewTab()
        case "tab_focus":  # no index, or one out of range, is a no-op for their executor; "1" is read as 1
            return A.SwitchTab(index=int(action.get("index", -1)))
    raise ValueError(f"nav_type {action.get('nav_type')!r} is not go_back, new_tab or tab_focus")


# -- writing our actions as the model's -----------------------------------------------------------
def extent(value: float, size: int) -> float:
    """Pixels as percent of the size, to one decimal, as MolmoWeb's loader writes every target (and every
    published answer has one): `normalize_scroll_deltas`, signed."""
    percent = round(abs(value) / size * 100, 1)
    return percent if value >= 0 else -percent


def percent(value: float, size: int) -> float:
    """A coordinate as their `normalize_click_coords`: one decimal, kept inside 0-100."""
    return max(0.0, min(round(value / size * 100, 1), 100.0))


def _point(action, size: tuple[int, int], x: str = "x", y: str = "y") -> dict:
    return {x: percent(action.x, size[0]), y: percent(action.y, size[1])}


def _key_name(key: str) -> str:
    """Our key names ("ctrl+a", "enter") as MolmoWeb's ("ControlOrMeta+a", "Enter"); others as they are."""
    if m := re.fullmatch(r"(?:ctrl|control|meta|cmd|controlormeta)\s*\+\s*([acv])", key.strip(), re.I):
        return f"ControlOrMeta+{m[1].lower()}"
    return _key(normalize_key(key)) or key


def from_action(action: A.Action, size: tuple[int, int]) -> list[dict]:
    """Our action (pixels of an image of `size`) as the MolmoWeb actions that do the same, in order; empty
    where MolmoWeb has none (an action whose target was never found)."""
    if isinstance(action, A.POINTED) and action.needs_grounding and not isinstance(action, A.Type):
        return []
    match action:
        case A.Click(button=button):  # the keys and their order of MolmoWeb's training targets
            return [{"name": "click", **_point(action, size), "button": button, "click_type": "single"}]
        case A.DoubleClick(button=button):
            return [{"name": "dblclick", **_point(action, size)} | ({"button": button} if button != "left" else {})]
        case A.Hover(duration=duration):
            return [{"name": "hover_at", **_point(action, size)} | ({"duration": duration} if duration else {})]
        case A.Drag():
            return [{"name": "mouse_drag_and_drop", **_point(action, size, "from_x", "from_y"),
                     "to_x": percent(action.to_x, size[0]), "to_y": percent(action.to_y, size[1])}]
        case A.Type(text=text):
            typed = {"name": "keyboard_type", "text": text}
            if action.x is None:
                return [typed]
            return [{"name": "click", **_point(action, size), "button": "left", "click_type": "single"}, typed]
        case A.SelectOption(option=option):
            return [{"name": "select_option", **_point(action, size), "option": option}]
        case A.Press(key=key):
            return [{"name": "keyboard_press", "key": _key_name(key)}]
        case A.Wheel(delta_x=dx, delta_y=dy):
            deltas = {"delta_x": extent(dx, size[0]), "delta_y": extent(dy, size[1])}
            if action.x is None or action.y is None:
                return [{"name": "scroll", **deltas}]
            return [{"name": "scroll_at", **_point(action, size), **deltas}]
        case A.Scroll(direction=direction, amount=amount):
            axis = 1 if direction in ("up", "down") else 0
            pixels = amount if amount is not None else 0.8 * size[axis]
            delta = extent(pixels if direction in ("down", "right") else -pixels, size[axis])
            deltas = {"delta_x": 0.0 if axis else delta, "delta_y": delta if axis else 0.0}
            if action.x is None or action.y is None:
                return [{"name": "scroll", **deltas}]
            return [{"name": "scroll_at", **_point(action, size), **deltas}]
        case A.Goto(url=url):
            return [{"name": "goto", "url": url}]
        case A.Back():
            return [{"name": "browser_nav", "nav_type": "go_back"}]
        case A.NewTab():
            return [{"name": "browser_nav", "nav_type": "new_tab"}]
        case A.SwitchTab(index=index):
            return [{"name": "browser_nav", "nav_type": "tab_focus", "index": index}]
        case A.Wait(reason=reason):
            return [{"name": "noop", "noop_reason": reason or "loading"}]
        case A.Message(text=text):
            return [{"name": "send_msg_to_user", "msg": text}]
        case A.Done(answer=answer):
            said = [{"name": "send_msg_to_user", "msg": f"{ANSWER} {answer}"}] if answer else []
            return said + [{"name": "send_msg_to_user", "msg": EXIT}]
        case A.Fail(reason=reason) | A.Infeasible(reason=reason):
            return [{"name": "report_infeasible", "infeasibility_reason": reason}]
    return []


def to_model_steps(step: "StepRecord", size: tuple[int, int]) -> list[ModelStep]:
    """A recorded step as the model's answers: its own answer when a MolmoWeb model took it, else the
    answers that do the same (typing at a point is a click, then keyboard_type)."""
    answer = parse_answer(step.policy_raw) if step.policy_raw else None
    if answer is not None:
        return [answer]
    action = step.action if step.action is not None else step.intent
    from ..language import to_step

    # The step as our step language says it is a better thought to learn than a plan's "step 3 of 14".
    thought = to_step(step.intent) or step.thought
    return [ModelStep(thought=thought, action=a) for a in from_action(action, size)]


def history(steps: list["StepRecord"], size: tuple[int, int]) -> list[ModelStep]:
    """A run's earlier steps as the model's history: its own answers as their agent kept them (the raw text
    read again the same way), and steps it did not take as the answers that do the same."""
    shown = []
    for step in steps:
        answer = None
        if step.policy_raw is not None:
            with contextlib.suppress(AnswerError):  # never in a run of theirs: such an answer ends it
                answer = read_answer(step.policy_raw)
        shown.extend([answer] if answer is not None else to_model_steps(step, size))
    return shown
