"""`dom` pointer: matches the target to visible elements' accessible names. A baseline and a label source."""

from __future__ import annotations

from ..errors import PointerError
from ..observation import Element, Observation
from ..points import Point, Space
from .base import PointerAnswer
from .matching import match_score

INTERACTIVE_TAGS = {"a", "button", "input", "select", "textarea", "label", "summary", "option"}


class DomPointer:
    name = "dom"
    needs_elements = True

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        ranked = sorted(
            ((self._score(target, e, field), i, e) for i, e in enumerate(observation.elements)),
            key=lambda t: (-t[0], t[1]),
        )
        if not ranked or ranked[0][0] <= 0:
            raise PointerError(f"no visible element is named {target!r}")
        best = ranked[0][2]
        x, y = best.box.center
        raw = f'dom: <{best.tag}> "{best.name}" at ({best.box.x:.0f}, {best.box.y:.0f}, {best.box.width:.0f}x{best.box.height:.0f})'
        return PointerAnswer(
            raw=raw, points=[Point(x=x, y=y, space=Space.CSS, label=best.name)],
            image_size=observation.viewport,
        )

    @staticmethod
    def _score(target: str, element: Element, field: bool) -> float:
        score = match_score(target, element.name)[0]
        if score <= 0:
            return 0.0
        if element.on_top:
            score += 0.3  # covered elements (under a banner, say) cannot be clicked
        if element.tag in INTERACTIVE_TAGS or element.role:
            score += 0.1
        if field and (element.editable or element.tag == "select"):
            score += 0.2
        return score
