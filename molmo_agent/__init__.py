"""molmo-agent: web agents that see the page as pixels and act by pointing."""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Loaded on first use, so that the model side (serve, train, the pointers) imports without a browser stack.
_EXPORTS = {
    "Agent": ".agent", "RunResult": ".agent", "Browser": ".browser", "BrowserConfig": ".browser",
    "MolmoAgentError": ".errors", "make_pointer": ".pointers", "StepsPolicy": ".policies", "read_trace": ".trace",
    "PageAgent": ".page_agent", "StepsFailed": ".page_agent", "PointCache": ".cache",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'molmo_agent' has no attribute {name!r}")


__all__ = ["__version__", *_EXPORTS]
