"""molmo-agent: web agents that see the page as pixels and act by pointing."""

__version__ = "0.1.0"

from .agent import Agent, RunResult  # noqa: E402
from .browser import Browser, BrowserConfig  # noqa: E402
from .errors import MolmoAgentError  # noqa: E402
from .pointers import make_pointer  # noqa: E402
from .policies import StepsPolicy  # noqa: E402
from .trace import read_trace  # noqa: E402

__all__ = ["Agent", "Browser", "BrowserConfig", "MolmoAgentError", "RunResult", "StepsPolicy",
           "__version__", "make_pointer", "read_trace"]
