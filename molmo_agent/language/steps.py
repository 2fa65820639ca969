"""The step language: what a person writes, one step per line or comma, read into actions and written back.

    click "Round trip", type "SFO" into "From", select "Business" in "Cabin", press Enter,
    scroll down, drag "Card A" to "Done", goto https://example.com, wait 2s, done
"""

from __future__ import annotations

import re

from .. import actions as A
from ..errors import StepSyntaxError
from .instructions import read_instructions
from .quoting import Q, quote, unquote

GRAMMAR: list[tuple[str, object]] = [
    (rf"(?:left )?click(?: on)? {Q}", lambda m: A.Click(target=unquote(m[1]))),
    (rf"right[- ]click(?: on)? {Q}", lambda m: A.Click(target=unquote(m[1]), button="right")),
    (rf"double[- ]click(?: on)? {Q}", lambda m: A.DoubleClick(target=unquote(m[1]))),
    (rf"hover(?: over| on)? {Q}", lambda m: A.Hover(target=unquote(m[1]))),
    (rf"(?:type|enter) {Q} (?:into|in) {Q}", lambda m: A.Type(text=unquote(m[1]), target=unquote(m[2]))),
    (rf"fill {Q} with {Q}", lambda m: A.Type(text=unquote(m[2]), target=unquote(m[1]))),
    (rf"type {Q}", lambda m: A.Type(text=unquote(m[1]))),
    (rf"(?:select|choose|pick) {Q} (?:in|from) {Q}", lambda m: A.SelectOption(option=unquote(m[1]), target=unquote(m[2]))),
    (rf"drag {Q} (?:to|onto) {Q}", lambda m: A.Drag(target=unquote(m[1]), to_target=unquote(m[2]))),
    (r"press (?:the )?(\S+?)(?: key)?", lambda m: A.Press(key=m[1])),
    (r"scroll(?: (up|down|left|right))?(?: (\d+)(?: ?px)?)?", lambda m: A.Scroll(
        direction=m[1] or "down", amount=float(m[2]) if m[2] else None)),
    (rf"(?:goto|go to|open|navigate to) (?:{Q}|(\S+))", lambda m: A.Goto(url=unquote(m[1]) or m[2])),
    (r"(?:go )?back", lambda m: A.Back()),
    (r"switch to tab (\d+)", lambda m: A.SwitchTab(index=int(m[1]))),
    (r"wait(?: (\d+(?:\.\d+)?) ?(ms|s|sec|seconds?)?)?", lambda m: A.Wait(
        seconds=(float(m[1]) / 1000 if m[2] == "ms" else float(m[1])) if m[1] else 1.0)),
    (rf"done(?: {Q})?", lambda m: A.Done(answer=unquote(m[1]))),
    (rf"fail {Q}", lambda m: A.Fail(reason=unquote(m[1]))),
]
COMPILED = [(re.compile(pattern, re.I), build) for pattern, build in GRAMMAR]
EXAMPLE = 'click "X", type "Y" into "X", select "Y" in "X", press Enter, scroll down, done'


def split_steps(text: str) -> list[str]:
    """Split on newlines, semicolons and commas that are outside quotes."""
    parts, current, open_quote, escaped = [], [], None, False
    for ch in text:
        if escaped:
            escaped = False
        elif open_quote:
            if ch == "\\" and open_quote in "\"'":
                escaped = True
            elif ch == open_quote or (open_quote in "“”" and ch in "“”"):
                open_quote = None
        elif ch in "\"“”'" and (ch != "'" or not current or not current[-1].isalnum()):
            open_quote = ch
        elif ch in ",;\n":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    cleaned = [re.sub(r"^\s*(?:\d+[.)]\s*|-\s+|then\s+|and\s+)*", "", p).strip().rstrip(".") for p in parts]
    return [p for p in cleaned if p and not p.startswith("#")]


def parse_step(text: str) -> A.Action:
    for pattern, build in COMPILED:
        match = pattern.fullmatch(text.strip())
        if match:
            return build(match)
    raise StepSyntaxError(f"cannot read step {text!r}; steps look like: {EXAMPLE}")


def _quoted(text: str | None) -> str | None:
    return None if text is None else quote(text)


def to_step(action: A.Action) -> str | None:
    """The step that `parse_step` reads back as `action`; None for actions named only by coordinates."""
    target = _quoted(getattr(action, "target", None))
    match action:
        case A.Click(button="left") if target:
            return f"click {target}"
        case A.Click(button="right") if target:
            return f"right-click {target}"
        case A.DoubleClick() if target:
            return f"double-click {target}"
        case A.Hover() if target:
            return f"hover {target}"
        case A.Type(text=text) if _quoted(text) and (target or action.target is None) and action.x is None:
            return f"type {_quoted(text)} into {target}" if target else f"type {_quoted(text)}"
        case A.SelectOption(option=option) if target and _quoted(option):
            return f"select {_quoted(option)} in {target}"
        case A.Drag(to_target=to) if target and _quoted(to):
            return f"drag {target} to {_quoted(to)}"
        case A.Press(key=key) if " " not in key:
            return f"press {key}"
        case A.Scroll(direction=direction, amount=amount) if action.x is None:
            return f"scroll {direction}" + (f" {amount:.0f}px" if amount else "")
        case A.Goto(url=url) if " " not in url:
            return f"goto {url}"
        case A.Back():
            return "back"
        case A.SwitchTab(index=index):
            return f"switch to tab {index}"
        case A.Wait(seconds=seconds):
            return f"wait {seconds:g}s"
        case A.Done(answer=answer):
            return "done" if answer is None else (f"done {_quoted(answer)}" if _quoted(answer) else None)
        case A.Fail(reason=reason) if _quoted(reason):
            return f"fail {_quoted(reason)}"
    return None


def parse_plan(text: str) -> list[A.Action]:
    steps = split_steps(text)
    if not steps:
        raise StepSyntaxError("the plan is empty; give steps such as: " + EXAMPLE)
    try:
        return [parse_step(s) for s in steps]
    except StepSyntaxError as not_steps:
        try:  # plain imperative English ("Enter "Bob" into the text field and press Submit.")
            return [parse_step(s) for s in read_instructions(text)]
        except StepSyntaxError:
            pass
        if not re.search(r"""["“”]""", text) and len(steps) == 1:
            raise StepSyntaxError(
                f"{text.strip()!r} is a free-form goal, and the steps policy only follows explicit steps "
                f"({EXAMPLE}); a free-form goal needs a model policy: --policy planner --planner URL "
                "--planner-model NAME, or --policy molmoweb --model PATH"
            ) from None
        raise not_steps from None
