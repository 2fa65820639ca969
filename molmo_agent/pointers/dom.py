"""`dom` pointer: matches the target to visible elements' accessible names. A baseline and a label source.

Besides names it reads generic role phrases ("the 2nd text field", "the list"), and for a field whose
label is not tied to it, takes the input nearest the label, to its right or below.
"""

from __future__ import annotations

from ..errors import PointerError
from ..observation import Element, Observation
from ..points import Point, Space
from .base import PointerAnswer
from .matching import match_score, role_target

INTERACTIVE_TAGS = {"a", "button", "input", "select", "textarea", "label", "summary", "option"}
FIELD_ROLES = {"textbox", "combobox", "listbox", "date", "time", "textarea"}


def _reading_order(element: Element) -> tuple[float, float]:
    return round(element.box.y / 8), element.box.x


class DomPointer:
    name = "dom"
    needs_elements = True
    sees_pixels = False  # the loop grounds with it while the screenshot is still coming

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        elements = observation.elements
        best = self._by_role(target, elements) or self._by_name(target, elements, field)
        if best is None:
            raise PointerError(f"no visible element is named {target!r}")
        how = ""
        if field and not (best.editable or best.role in FIELD_ROLES):
            beside = self._field_beside(best, elements)
            if beside is not None:
                best, how = beside, f' beside "{target}"'
        x, y = best.box.center
        box = best.box
        raw = f'dom: <{best.tag}> "{best.name}"{how} at ({box.x:.0f}, {box.y:.0f}, {box.width:.0f}x{box.height:.0f})'
        return PointerAnswer(
            raw=raw, points=[Point(x=x, y=y, space=Space.CSS, label=best.name or target)],
            image_size=observation.viewport, box=best.box,
        )

    @staticmethod
    def _by_role(target: str, elements: list[Element]) -> Element | None:
        wanted = role_target(target)
        if wanted is None:
            return None
        role, ordinal = wanted
        if role == "textarea":
            found = [e for e in elements if e.tag == "textarea"]
        elif role == "combobox":
            found = [e for e in elements if e.role in ("combobox", "listbox")]
        else:
            found = [e for e in elements if e.role == role and not (role == "textbox" and e.tag == "textarea")]
        found = sorted((e for e in found if e.on_top), key=_reading_order)
        if not found:
            return None
        index = (ordinal or 1) - 1 if ordinal != -1 else -1
        return found[index] if -len(found) <= index < len(found) else None

    def _by_name(self, target: str, elements: list[Element], field: bool) -> Element | None:
        scored = [(self._score(target, e, field), i, e) for i, e in enumerate(elements)]
        scored = [t for t in scored if t[0] > 0]
        return min(scored, key=lambda t: (-t[0], t[1]))[2] if scored else None

    @staticmethod
    def _score(target: str, element: Element, field: bool) -> float:
        score = match_score(target, element.name)[0]
        if score <= 0:
            return 0.0
        if element.on_top:
            score += 0.3  # covered elements (under a banner, say) cannot be clicked
        if element.tag in INTERACTIVE_TAGS or element.role:
            score += 0.1
        if field and (element.editable or element.role in FIELD_ROLES):
            score += 0.2
        return score

    @staticmethod
    def _field_beside(label: Element, elements: list[Element]) -> Element | None:
        """The nearest field to the right of a label on its row, or below it."""
        lx, ly = label.box.x + label.box.width, label.box.y + label.box.height / 2
        candidates = []
        for e in elements:
            if not (e.editable or e.role in FIELD_ROLES) or not e.on_top:
                continue
            right = e.box.x >= lx - 4 and e.box.y <= ly <= e.box.y + e.box.height
            below = e.box.y >= label.box.y + label.box.height - 4 and e.box.x < lx + 40
            if right or below:
                distance = (e.box.x - lx) if right else (e.box.y - label.box.y) * 2
                candidates.append((distance, e))
        return min(candidates, key=lambda t: t[0])[1] if candidates else None
