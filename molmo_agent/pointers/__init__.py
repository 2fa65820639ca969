"""Pointers ("grounders"): where is X in this screenshot? One protocol, one module per backend."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Pointer, PointerAnswer

NAMES = ("ocr", "dom", "http", "molmo")


def make_pointer(name: str, *, endpoint: str | None = None, model: str | None = None,
                 api_key: str | None = None, timeout_s: float = 60.0, family: str | None = None,
                 api: str = "openai") -> Pointer:
    """The pointer backend called `name`, configured from CLI-level options."""
    if name == "ocr":
        from .ocr import OcrPointer

        return OcrPointer()
    if name == "dom":
        from .dom import DomPointer

        return DomPointer()
    if name == "http":
        if not endpoint or not model:
            raise ConfigError("--pointer http needs --endpoint URL and --model NAME")
        from .http import HttpPointer

        return HttpPointer(endpoint, model, api_key=api_key, timeout_s=timeout_s, family=family, api=api)
    if name == "molmo":
        if not model:
            raise ConfigError("--pointer molmo needs --model PATH (a Molmo2-family checkpoint folder or hub id)")
        from .molmo import MolmoPointer

        return MolmoPointer(model, family=family)
    raise ConfigError(f"unknown pointer {name!r}; choose one of {', '.join(NAMES)}")


def describe(pointer: Pointer) -> dict:
    """What the trace header records about a pointer (never an API key)."""
    described = getattr(pointer, "describe", None)
    return described() if described else {"name": pointer.name}


__all__ = ["NAMES", "Pointer", "PointerAnswer", "describe", "make_pointer"]
