"""MiniWoB++ episodes from the `miniwob` package's own HTML, driven by Playwright directly.

Each episode loads `miniwob/<task>.html` over http, seeds the page's random generator, starts the
episode, reads the instruction from the page (`core.getUtterance()`), and ends when the page says
it is done; the reward is the page's own `WOB_RAW_REWARD_GLOBAL`.

By default episodes run as agent harnesses run them (BrowserGym's MiniWoB tasks, AgentLab): the page's
episode timer is 1,000,000 ms instead of MiniWoB's 10 s for a person (a model is seconds a step), and the
human display (the reward panel, the click canvas, the START cover) is hidden. `time_limit_s` and
`display` bring MiniWoB's own back. An episode the page restarts under the agent (its timer ran out and a new
instruction came) ends failed: the run never goes on with the old instruction on the new episode.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .checks import Check
from .errors import ConfigError
from .evaluate import Episode
from .tasks import Task

# Tasks whose instructions are plain imperative sentences and whose actions the action space covers.
COVERED = [
    "click-button", "click-button-sequence", "click-checkboxes", "click-dialog", "click-dialog-2",
    "click-link", "click-option", "click-tab", "click-test", "click-test-2", "click-widget",
    "choose-list", "enter-date", "enter-password", "enter-text", "enter-text-dynamic", "enter-time",
    "focus-text", "focus-text-2", "login-user",
]


def html_root() -> Path:
    spec = importlib.util.find_spec("miniwob")  # finds the package without importing it (and gymnasium)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("MiniWoB++ is not installed: pip install miniwob (or ./setup.sh --dev)")
    root = Path(list(spec.submodule_search_locations)[0]) / "html"
    if not (root / "miniwob").is_dir():
        raise ConfigError(f"the miniwob package at {root.parent} has no html/miniwob folder")
    return root


def all_tasks() -> list[str]:
    return sorted(p.stem for p in (html_root() / "miniwob").glob("*.html"))


AGENT_TIME_LIMIT_S = 1000.0
"""The episode timer agent harnesses set (1,000,000 ms); MiniWoB's own is 10 s, made for a person."""
HUMAN_DISPLAY = ("reward-display", "click-canvas", "sync-task-cover")
"""What MiniWoB shows a person beside the task, hidden by agent harnesses."""


def task(name: str, *, max_steps: int = 12, time_limit_s: float = AGENT_TIME_LIMIT_S, display: bool = False) -> Task:
    """`time_limit_s`: the page's episode timer; `display`: show MiniWoB's reward panel and click canvas."""
    hide = "" if display else (
        "const hidden = document.createElement('style'); "
        f"hidden.textContent = '{', '.join('#' + i for i in HUMAN_DISPLAY)} {{ display: none !important }}'; "
        "document.head.appendChild(hidden);")
    return Task(
        id=f"miniwob/{name}", goal="(the page's instruction)", site=html_root(), path=f"miniwob/{name}.html",
        setup=f"core.EPISODE_MAX_TIME = {round(time_limit_s * 1000)}; Math.seedrandom({{seed}}); {hide} "
              "core.startEpisodeReal();",
        goal_from_page="core.getUtterance()",
        finish_when=[Check(js="WOB_DONE_GLOBAL")],
        checks=[Check(js="WOB_RAW_REWARD_GLOBAL > 0")],
        reward="WOB_RAW_REWARD_GLOBAL",
        max_steps=max_steps, tags=["miniwob"], restart_in_place=True,
    )


def episodes(names: list[str] | None = None, *, count: int = 1, seed: int = 0,
             time_limit_s: float = AGENT_TIME_LIMIT_S, display: bool = False) -> list[Episode]:
    names = names or COVERED
    known = set(all_tasks())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"no MiniWoB++ task named {', '.join(unknown)}; see the miniwob package's html/miniwob")
    return [Episode(task_id=f"miniwob/{n}", seed=s, task=task(n, time_limit_s=time_limit_s, display=display))
            for n in names for s in range(seed, seed + count)]
