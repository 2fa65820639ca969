"""Which control a label names, and which control a role phrase means, from positions alone.

A field's label sits left of it on its row, above it, or inside it (a placeholder); the nearest field in
one of those places wins, unless another label stands between them (that field is the other label's). A
field in an input group is measured by the group's box: its label stands over or before the add-on.
"""

from __future__ import annotations

from .screen import Box, Control, TextLine, contains, overlaps, reading_order

ROLE_KINDS = {"textbox": ("field",), "textarea": ("area",), "button": ("button",), "checkbox": ("checkbox",),
              "radio": ("radio",), "combobox": ("field",), "date": ("field",), "time": ("field",)}
RIGHT_MAX = 320  # px between a label and a field on its row
BELOW_MAX = 70  # px between a label and a field under it


def field_for(label: Box, controls: list[Control], lines: list[TextLine]) -> Control | None:
    """The field (or text area) that the label at `label` names, or None."""
    lx0, ly0, lx1, ly1 = label
    cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
    fields = [c for c in controls if c.kind in ("field", "area")]
    for field in fields:
        if contains(field.extent, cx, cy):
            return field  # a placeholder, the text already typed in, or an add-on's text ("Qty", "$")
    others = [t.box for t in lines if t.inside is None and t.box != label and not overlaps(t.box, label)]
    scored = []
    for field in fields:
        fx0, fy0, fx1, fy1 = field.extent
        if fx0 >= lx1 - 4 and fy0 - 6 <= cy <= fy1 + 6 and fx0 - lx1 <= RIGHT_MAX:
            between = any(t[0] >= lx1 - 2 and t[2] <= fx0 + 2 and t[1] <= cy <= t[3] for t in others)
            if not between:
                scored.append((fx0 - lx1, field))
        elif fy0 >= cy and fy0 - ly1 <= BELOW_MAX and fx0 - 30 <= lx0 < fx1:  # the label starts over it
            # (its text's box may reach into the field's top border: OCR's boxes are generous)
            between = any(t[1] >= ly1 - 2 and t[3] <= fy0 + 2 and t[0] < fx1 and t[2] > fx0 for t in others)
            if not between:
                scored.append((max(fy0 - ly1, 0) * 1.5 + 10 + 0.2 * abs(fx0 - lx0), field))
    return min(scored, key=lambda s: s[0])[1] if scored else None


def by_role(role: str, ordinal: int | None, controls: list[Control]) -> Control | None:
    """"the 2nd text field", "the last button": the nth control of that kind in reading order."""
    found = sorted((c for c in controls if c.kind in ROLE_KINDS.get(role, ())), key=lambda c: reading_order(c.box))
    index = (ordinal or 1) - 1 if ordinal != -1 else -1
    return found[index] if -len(found) <= index < len(found) else None


def label_links(controls: list[Control], lines: list[TextLine]) -> list[tuple[tuple[float, float], Control]]:
    """Each field with the centre of its nearest label (a heading above a form leads to a field too)."""
    nearest: dict[Control, tuple[float, tuple[float, float]]] = {}
    for line in lines:
        field = field_for(line.box, controls, lines) if line.inside is None else None
        if field is not None:
            x, y = (line.box[0] + line.box[2]) / 2, (line.box[1] + line.box[3]) / 2
            distance = abs(field.center[0] - x) + abs(field.center[1] - y)
            if field not in nearest or distance < nearest[field][0]:
                nearest[field] = (distance, (x, y))
    return [(label, field) for field, (_, label) in nearest.items()]
