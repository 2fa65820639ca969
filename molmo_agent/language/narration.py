"""A step as a person reading the run would say it, naming what was acted on: `click on the button "Search
flights"`, `type "SFO" into the field "From"`. Judges read these (MolmoWeb's logger writes the same kind of
line as `action_description`); coordinates go beside them, since a judge cannot see the point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import actions as A
from .quoting import quote

if TYPE_CHECKING:
    from ..trace.records import ElementRecord

KINDS = {"textbox": "field", "searchbox": "field", "combobox": "list", "listbox": "list", "radio": "option",
         "menuitem": "menu item", "tab": "tab", "switch": "switch", "slider": "slider"}
"""Roles as people call them; others (button, link, checkbox) by their own name."""


def thing(element: "ElementRecord | None") -> str | None:
    """`the button "Search flights"`, `the field "From"`, `the link`; None when nothing is known."""
    if element is None:
        return None
    kind = KINDS.get(element.role or "", element.role or element.tag)
    return f"the {kind} {quote(element.name)}" if element.name else f"the {kind}"


def _at(action) -> str:
    return f" at ({action.x:.0f}, {action.y:.0f})" if getattr(action, "x", None) is not None else ""


def narrate(action: A.Action, element: "ElementRecord | None" = None) -> str:
    """The action in words, with the element it acted on where known and its point beside it."""
    what = thing(element)
    on = f" {what}" if what else ""
    match action:
        case A.Click(button=button):
            verb = "click" if button == "left" else f"{button}-click"
            return f"{verb} on{on or ' the page'}{_at(action)}"
        case A.DoubleClick():
            return f"double-click on{on or ' the page'}{_at(action)}"
        case A.Hover():
            return f"hover over{on or ' the page'}{_at(action)}"
        case A.Drag(to_x=tx, to_y=ty):
            return f"drag{on or ''} from ({action.x:.0f}, {action.y:.0f}) to ({tx:.0f}, {ty:.0f})"
        case A.Type(text=text):
            return f"type {quote(text)}" + (f" into {what}" if what else "") + _at(action)
        case A.SelectOption(option=option):
            return f"select {quote(option)} in{on or ' the list'}{_at(action)}"
        case A.Press(key=key):
            return f"press {key}"
        case A.Scroll(direction=direction, amount=amount):
            return f"scroll {direction}" + (f" {amount:.0f} px" if amount else "") + _at(action)
        case A.Wheel(delta_x=dx, delta_y=dy):
            moves = [f"{'down' if dy > 0 else 'up'} {abs(dy):.0f} px"] if dy else []
            moves += [f"{'right' if dx > 0 else 'left'} {abs(dx):.0f} px"] if dx else []
            return "scroll " + (" and ".join(moves) or "by nothing") + (f" over{on}" if what else "") + _at(action)
        case A.Goto(url=url):
            return f"go to {url}"
        case A.Back():
            return "go back"
        case A.NewTab():
            return "open a new tab"
        case A.SwitchTab(index=index):
            return f"switch to tab {index}"
        case A.Wait(seconds=seconds):
            return f"wait {seconds:g} s"
        case A.Message(text=text):
            return f"tell the user {quote(text)}"
        case A.Infeasible(reason=reason):
            return f"say the step cannot be done: {reason}"
        case A.Done(answer=answer):
            return "finish" + (f" with the answer {quote(answer)}" if answer else "")
        case A.Fail(reason=reason):
            return f"give up: {reason}"
    return action.describe()
