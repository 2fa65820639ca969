"""The action space. Plain data: nothing here knows about Playwright or models.

Coordinates are CSS pixels in the viewport. An action that names a `target` but has no
coordinates yet is an *intent*: the agent asks a pointer where the target is and fills them in.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def describe(self) -> str:
        """A short human line for logs and reports."""
        fields = self.model_dump(exclude_none=True, exclude={"name"})
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{self.name}({inner})"


class _Pointed(_Action):
    target: str | None = None
    x: float | None = None
    y: float | None = None

    @property
    def needs_grounding(self) -> bool:
        return self.x is None or self.y is None


class Click(_Pointed):
    name: Literal["click"] = "click"
    button: Literal["left", "right", "middle"] = "left"


class DoubleClick(_Pointed):
    name: Literal["double_click"] = "double_click"
    button: Literal["left", "right", "middle"] = "left"


class Hover(_Pointed):
    name: Literal["hover"] = "hover"
    duration: float | None = Field(None, ge=0, le=60, description="seconds to rest there (menus that open late)")


class Drag(_Pointed):
    name: Literal["drag"] = "drag"
    to_target: str | None = None
    to_x: float | None = None
    to_y: float | None = None

    @property
    def needs_grounding(self) -> bool:
        return None in (self.x, self.y, self.to_x, self.to_y)


class Type(_Pointed):
    """Type `text` into the field at the point (or the focused element when there is none).

    `text` may hold `{{NAME}}` placeholders for secrets; they are filled in only at the keyboard.
    """

    name: Literal["type"] = "type"
    text: str
    clear: bool = True


class Press(_Action):
    name: Literal["press"] = "press"
    key: str


class Scroll(_Action):
    name: Literal["scroll"] = "scroll"
    direction: Literal["up", "down", "left", "right"] = "down"
    amount: float | None = Field(None, description="CSS pixels; default most of a viewport")
    x: float | None = None
    y: float | None = None


class Wheel(_Action):
    """The mouse wheel turned by both deltas at once (CSS px), at (x, y) or where the mouse already is:
    MolmoWeb's `scroll` and `scroll_at`. What scrolls is whatever is under the mouse, as for a person."""

    name: Literal["wheel"] = "wheel"
    delta_x: float = 0.0
    delta_y: float = 0.0
    x: float | None = None
    y: float | None = None


class SelectOption(_Pointed):
    name: Literal["select_option"] = "select_option"
    option: str


class Goto(_Action):
    name: Literal["goto"] = "goto"
    url: str


class Back(_Action):
    name: Literal["back"] = "back"


class SwitchTab(_Action):
    name: Literal["switch_tab"] = "switch_tab"
    index: int


class NewTab(_Action):
    """Open a blank tab and make it the active one."""

    name: Literal["new_tab"] = "new_tab"


class Wait(_Action):
    name: Literal["wait"] = "wait"
    seconds: float = Field(1.0, ge=0, le=300)
    reason: str | None = Field(None, description="why, as a model said it (loading, captcha, ...)")


class Message(_Action):
    """Tell the user something; nothing happens on the page and the run goes on."""

    name: Literal["message"] = "message"
    text: str


class Infeasible(_Action):
    """A model says it cannot take this step now; nothing happens on the page and the run goes on (a model
    that samples may answer otherwise next time). The policy decides when enough of them end the run."""

    name: Literal["infeasible"] = "infeasible"
    reason: str


class Done(_Action):
    name: Literal["done"] = "done"
    answer: str | None = None


class Fail(_Action):
    name: Literal["fail"] = "fail"
    reason: str


Action = Annotated[
    Union[
        Click, DoubleClick, Hover, Drag, Type, Press, Scroll, Wheel, SelectOption,
        Goto, Back, SwitchTab, NewTab, Wait, Message, Infeasible, Done, Fail,
    ],
    Field(discriminator="name"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
POINTED = (Click, DoubleClick, Hover, Drag, Type, SelectOption)
TERMINAL = (Done, Fail)
SAYING = (Message, Infeasible)
"""Actions that only say something: nothing to carry out on the page."""


def parse_action(data: dict) -> Action:
    return ACTION_ADAPTER.validate_python(data)
