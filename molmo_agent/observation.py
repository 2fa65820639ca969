"""What the agent sees at one moment: the screenshot and a few page facts. Plain data."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field, PrivateAttr


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
    """`screenshot` is the PNG of the viewport at the device scale, or a function that waits for it: a browser
    takes a screenshot at its next display frame or two (33 ms at 60 Hz), time the loop spends deciding and
    grounding with the page facts instead of waiting (`Browser.observe(pixels_later=True)`)."""

    viewport: tuple[int, int]
    scale: float
    url: str
    title: str
    tabs: list[Tab]
    active_tab: int
    dom_signature: str
    elements: list[Element] = Field(default_factory=list)
    _png: bytes | None = PrivateAttr(None)
    _coming: Callable[[], bytes] | None = PrivateAttr(None)
    _size: tuple[int, int] | None = PrivateAttr(None)

    def __init__(self, *, screenshot: bytes | Callable[[], bytes], image_size: tuple[int, int] | None = None,
                 **facts) -> None:
        super().__init__(**facts)
        self._png, self._coming = (None, screenshot) if callable(screenshot) else (screenshot, None)
        self._size = tuple(image_size) if image_size is not None else None

    @property
    def screenshot(self) -> bytes:
        if self._png is None:
            self._png = self._coming()  # a failure is raised here, to whoever needs the pixels
        return self._png

    @property
    def image_size(self) -> tuple[int, int]:
        """The screenshot's size in image pixels (its PNG header's)."""
        if self._size is None:
            import io

            from PIL import Image

            self._size = Image.open(io.BytesIO(self.screenshot)).size
        return self._size
