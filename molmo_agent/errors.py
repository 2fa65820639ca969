"""One exception hierarchy. The CLI turns any of these into one line on stderr."""

from __future__ import annotations


class MolmoAgentError(Exception):
    """Base class. `exit_code` is what the CLI exits with: 2 for usage/configuration, 1 otherwise."""

    exit_code = 1


class ConfigError(MolmoAgentError):
    """Bad options, a bad task file, or a missing dependency: the user must change something."""

    exit_code = 2


class StepSyntaxError(ConfigError):
    """A goal or plan that the step language cannot read."""


class PointParseError(MolmoAgentError):
    """Model text that holds no usable point or action."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


class PointerError(MolmoAgentError):
    """A pointer or model could not answer: target not found, endpoint refused, model failed. `text` keeps
    what the server said, where it said something."""

    def __init__(self, message: str, text: str | None = None) -> None:
        super().__init__(message)
        self.text = text


class BrowserError(MolmoAgentError):
    """The browser could not be started or could not carry out an action."""


class BrowserNotFoundError(BrowserError):
    exit_code = 2


class NavigationBlockedError(BrowserError):
    """A navigation outside --allow-domain, or to file:// without --allow-file."""


class TraceError(MolmoAgentError):
    """A trace that cannot be read or written."""
