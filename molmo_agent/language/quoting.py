"""How the step language quotes: "..." may hold ' (and \\" or \\\\), '...' may hold ", “...” may hold both."""

from __future__ import annotations

import re

Q = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[“”][^“”]*[“”])"""
"""One quoted string, quotes included: read it with `unquote`."""


def unquote(token: str | None) -> str | None:
    if token is None:
        return None
    inner = token[1:-1]
    return inner if token[0] in "“”" else re.sub(r"\\(.)", r"\1", inner, flags=re.S)


def quote(text: str) -> str:
    """`text` as the step language writes it: in double quotes, with \\ and " escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
