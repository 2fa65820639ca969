"""What the agent sees at one moment: the screenshot and a few page facts. Plain data."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Box(BaseModel):
    """A rectangle in CSS pixels of the viewport."""

    x: float
    y: float
    width: float
    height: float

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.width and self.y <= y <= self.y + self.height

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


class Seen(BaseModel):
    """Something a pixel pointer made out on the screen on its way to a point: a control (field, area,
    button, checkbox, radio), the text it matched (`label`), or the control it chose (`chosen`)."""

    kind: str
    box: Box


class Element(BaseModel):
    """A visible element as the page's DOM describes it: a label source and the `dom` pointer's input."""

    tag: str
    role: str | None = None
    name: str = Field("", description="accessible name: aria-label, label, placeholder or text")
    box: Box
    editable: bool = False
    on_top: bool = Field(True, description="whether the element is what a click at its centre hits")


class Tab(BaseModel):
    title: str
    url: str


class Observation(BaseModel):
    screenshot: bytes = Field(repr=False, description="PNG of the viewport at the device scale")
    image_size: tuple[int, int]
    viewport: tuple[int, int]
    scale: float
    url: str
    title: str
    tabs: list[Tab]
    active_tab: int
    dom_signature: str
    elements: list[Element] = Field(default_factory=list)
