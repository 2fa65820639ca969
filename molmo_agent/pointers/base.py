"""The one question every pointer answers: where is <target> in this screenshot?"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from ..observation import Box, Observation, Seen
from ..points import Point


class PointerAnswer(BaseModel):
    raw: str
    """What the backend said: the model's text, or a description of the match."""
    points: list[Point]
    """Best first, in the backend's own space (percent, permille, image pixels or CSS pixels)."""
    image_size: tuple[int, int]
    """Size of the image the points refer to (the image actually looked at)."""
    box: Box | None = None
    """The target element's box in CSS pixels, where the backend knows it (`dom`): a label for training."""
    seen: list[Seen] = []
    """What a pixel pointer made out on the way (CSS pixels): the report draws it over the screenshot."""


@runtime_checkable
class Pointer(Protocol):
    name: str
    needs_elements: bool
    """Whether observations must carry the DOM's element list (only the `dom` pointer's do). A pointer that
    reads no pixels says so with `sees_pixels = False`: the loop grounds with it while the screenshot is still
    coming (without it, the loop first writes the last step's record, then the pointer waits for the pixels)."""

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        """Points at `target`. `field=True` asks for the input a label names, not the label.

        Raises `PointerError` when the target cannot be found, `PointParseError` on unreadable
        model text.
        """
        ...
