"""A trace in MolmoWeb's episode layout: the folder its benchmark judges read and its trajectory datasets share.

    <folder>/trajectory.json             {"1": step, "2": step, ...}, one entry per answer of the model
    <folder>/images/screenshot_001.png   the page each answer was given on (three digits, from 001)
    <folder>/user_message/user_message_001.txt   the prompt text of that answer
    <folder>/metadata.json               {"goal", "eps_name"}
    <folder>/system_message.md           the prompt style, molmo_web_think

Each step is as MolmoWeb's own logger writes it (facts: shared/facts/molmoweb-benchmarks.md and
molmowebmix-data.md): `screenshot`, `user_message`, `other_obs` (the page index, URL and open tabs),
`action` {`action_str` (their action object printed, pixels), `action_description` (what was acted on, in
words), `action_output` {thought, action (pixels), action_name}}, `error`, `action_timestamp`,
`raw_output`. Units are pixels of the screenshot, which is written at the CSS viewport's size, so the two
agree at any device scale. A step we took in two answers of theirs (typing at a point: a click, then
keyboard_type) is two entries on the same screenshot. The final answer is read by their rule: the last
`send_msg_to_user` whose msg holds `[ANSWER]`.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from PIL import Image

from ..language.narration import narrate
from ..trace import StepRecord, Trace
from . import molmoweb

TRAJECTORY = "trajectory.json"
IMAGES = "images"
USER_MESSAGES = "user_message"


def screenshot_name(number: int) -> str:
    return f"screenshot_{number:03d}.png"


def _call(name: str, **params) -> str:
    """An action object printed as their `__str__` prints it: `mouse_click(x=640.0, y=360.0, button='left')`."""
    return f"{name}(" + ", ".join(f"{key}={value!r}" for key, value in params.items()) + ")"


def in_pixels(action: dict, size: tuple[int, int]) -> tuple[str, dict, str]:
    """A MolmoWeb answer's action (percent) as their agent turns it into an action object and their evaluation
    logger writes it: its name (`mouse_click`), its parameters in pixels, and how it prints."""
    width, height = size
    name = action.get("name")
    at = lambda x="x", y="y": {x: molmoweb.pixel(action.get(x, 0.0), width),  # noqa: E731
                               y: molmoweb.pixel(action.get(y, 0.0), height)}
    deltas = lambda: {"delta_x": molmoweb.pixel(action.get("delta_x", 0.0), width, clamp=False),  # noqa: E731
                      "delta_y": molmoweb.pixel(action.get("delta_y", 0.0), height, clamp=False)}
    match name:
        case "click" | "dblclick" | "mouse_click":
            called = "mouse_dblclick" if name == "dblclick" else "mouse_click"
            params = {**at(), "button": action.get("button", "left"),
                      "click_type": "double" if name == "dblclick" else "single"}
            return called, params, _call(called, x=params["x"], y=params["y"], button=params["button"])
        case "hover_at":
            params = {**at(), "duration": float(action.get("duration", 1.0))}
            return name, params, _call(name, **params)
        case "mouse_drag_and_drop" | "drag_and_drop":
            params = {**at("from_x", "from_y"), **at("to_x", "to_y")}
            return "mouse_drag_and_drop", params, _call("mouse_drag_and_drop", **params)
        case "scroll":
            params = deltas()
            return name, params, _call(name, **params)
        case "scroll_at":
            params = {**at(), **deltas()}
            return name, params, _call(name, **params)
        case "keyboard_type" | "type":
            params = {"text": action.get("text", "")}
            return "keyboard_type", params, _call("keyboard_type", **params)
        case "keyboard_press" | "keypress":
            params = {"key": action.get("key", "")}
            return "keyboard_press", params, _call("keyboard_press", **params)
        case "goto":
            params = {"url": action.get("url", "")}
            return name, params, _call(name, **params)
        case "send_msg_to_user":
            params = {"msg": molmoweb.cut(str(action.get("msg", "")), molmoweb.MESSAGE_LIMIT)}
            return name, params, _call(name, text=params["msg"])
        case "browser_nav":
            params = {"nav_type": action.get("nav_type", "go_back"), "index": action.get("index", -1)}
            shown = _call(params["nav_type"], index=params["index"]) if params["nav_type"] == "tab_focus" \
                else _call(params["nav_type"])
            return name, params, shown
        case "noop":
            params = {"noop_reason": action.get("noop_reason", "loading")}
            return name, params, _call(name, wait_ms=int(molmoweb.NOOP_SECONDS * 1000))
        case "select_option":  # ours, not theirs: kept in the same shape
            params = {**at(), "option": action.get("option", "")}
            return name, params, _call(name, **params)
    reason = action.get("infeasibility_reason") or f"Unsupported action: {action}"
    return "report_infeasible", {"infeasibility_reason": reason}, _call("report_infeasible", reason=reason)


def as_data(action: dict, size: tuple[int, int]) -> tuple[str, dict]:
    """A MolmoWeb answer's action as their trajectory datasets hold it, the inverse of their loader
    (`get_formatted_action`): click, scroll, scroll_at and mouse_drag_and_drop in pixels, which it turns into
    percent with one decimal; any other action's parameters as the model says them, which it copies."""
    width, height = size
    px = lambda key, side: round(float(action.get(key, 0.0)) / 100 * side, 2)  # noqa: E731
    match action.get("name"):
        case "click":
            return "click", {"x": px("x", width), "y": px("y", height), "button": action.get("button", "left"),
                             "click_type": action.get("click_type", "single")}
        case "scroll":
            return "scroll", {"delta_x": px("delta_x", width), "delta_y": px("delta_y", height)}
        case "scroll_at":
            return "scroll_at", {"x": px("x", width), "y": px("y", height), "delta_x": px("delta_x", width),
                                 "delta_y": px("delta_y", height)}
        case "mouse_drag_and_drop":
            return "mouse_drag_and_drop", {"from_x": px("from_x", width), "from_y": px("from_y", height),
                                           "to_x": px("to_x", width), "to_y": px("to_y", height)}
    return action.get("name", ""), {k: v for k, v in action.items() if k != "name"}


def screenshot_png(trace: Trace, step: StepRecord) -> bytes:
    """The step's screenshot as PNG at the CSS viewport's size, where the trace's pixels are."""
    size = tuple(trace.header.viewport)
    with Image.open(trace.screenshot_path(step.observation.screenshot)) as image:
        image = image.convert("RGB")
        if image.size != size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def screenshots(trace: Trace, answers: list) -> list[bytes]:
    """Each answer's screenshot (`screenshot_png`), encoded once a step: a step the model takes in two answers
    (a click, then keyboard_type) shows the same one twice."""
    encoded: dict[int, bytes] = {}
    for step, _, _ in answers:
        if step.index not in encoded:
            encoded[step.index] = screenshot_png(trace, step)
    return [encoded[step.index] for step, _, _ in answers]


def entries(trace: Trace) -> list[tuple[StepRecord, molmoweb.ModelStep, str]]:
    """Every answer of the run in order, with the step it belongs to and the prompt it was given."""
    size = tuple(trace.header.viewport)
    answered = [molmoweb.to_model_steps(step, size) for step in trace.steps]
    found, before = [], []
    for step, answers in zip(trace.steps, answered):
        for answer in answers:
            prompt = molmoweb.prompt(trace.header.goal, before, page_index=step.observation.active_tab,
                                     title=step.observation.title, url=step.observation.url)
            found.append((step, answer, prompt))
            before.append(answer)
    return found


def trajectory(trace: Trace, answers: list | None = None, *, data: bool = False) -> dict[str, dict]:
    """trajectory.json's object, keyed by step number from "1" (`answers`: `entries(trace)`, where known);
    actions as their evaluation logger writes them, or with `data` as their datasets hold them."""
    size = tuple(trace.header.viewport)
    steps = {}
    for number, (step, answer, prompt) in enumerate(entries(trace) if answers is None else answers, 1):
        name, params, shown = in_pixels(answer.action, size)
        if data:
            name, params = as_data(answer.action, size)
        observed = step.observation
        steps[str(number)] = {
            "screenshot": screenshot_name(number),
            "user_message": f"user_message_{number:03d}.txt",
            "other_obs": {"page_index": observed.active_tab, "url": observed.url,
                          "open_pages_titles": [t.title for t in observed.tabs],
                          "open_pages_urls": [t.url for t in observed.tabs], "prompt": prompt},
            "action": {"action_str": shown, "action_description": narrate(step.action or step.intent, step.element),
                       "action_output": {"thought": answer.thought, "action": params, "action_name": name}},
            "error": None if step.outcome.ok else {"ENV_STEP_ERROR": step.outcome.error or "the step failed"},
            "action_timestamp": None,
            "raw_output": step.policy_raw if step.policy_raw is not None else json.dumps(answer.model_dump()),
            "image_w": size[0], "image_h": size[1],
        }
    return steps


def write_episode(trace: Trace, folder: Path, episode_name: str) -> Path | None:
    """The run written in MolmoWeb's layout at `folder` (replacing an earlier one); None when the run gave
    no answer at all, which their harness leaves without a folder (their judge counts it as missing)."""
    answers = entries(trace)
    steps = trajectory(trace, answers)
    if folder.exists():
        shutil.rmtree(folder)
    if not steps:
        return None
    (folder / IMAGES).mkdir(parents=True)
    (folder / USER_MESSAGES).mkdir()
    for number, ((_, _, prompt), png) in enumerate(zip(answers, screenshots(trace, answers)), 1):
        (folder / IMAGES / screenshot_name(number)).write_bytes(png)
        (folder / USER_MESSAGES / steps[str(number)]["user_message"]).write_text(
            prompt.split(": ", 1)[1], encoding="utf-8")
    (folder / "metadata.json").write_text(json.dumps({"goal": trace.header.goal, "eps_name": episode_name},
                                                     indent=2) + "\n", encoding="utf-8")
    (folder / "system_message.md").write_text(molmoweb.SYSTEM, encoding="utf-8")
    (folder / TRAJECTORY).write_text(json.dumps(steps, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
