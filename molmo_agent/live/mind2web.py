"""An episode in Online-Mind2Web's own layout, so that its official judge script can re-score our runs:
`<folder>/<task_id>/result.json` (task, action_history, thoughts, final_result_response) and
`<folder>/<task_id>/trajectory/<n>.png`, the screenshots in the order they were taken. One action and one
thought per step, aligned; each action as a person would read it, with what it acted on and its point. Every
task expected gets a folder, one that never ran or crashed an empty one, so that the script's denominator
(the folders it finds) is the number of tasks, as ours is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..judges.evidence import evidence
from ..language.narration import narrate
from ..trace import Trace

LAYOUT_DIR = "online-mind2web"


def layout_folder(out: Path, seed: int | None) -> Path:
    """One folder of task folders per episode index: the official script reads one run at a time."""
    return out / LAYOUT_DIR if seed is None else out / LAYOUT_DIR / f"seed-{seed}"


def write_layout(trace: Trace, task_id: str, folder: Path) -> Path:
    target = folder / task_id
    if target.exists():
        shutil.rmtree(target)  # a re-run of the episode replaces it
    (target / "trajectory").mkdir(parents=True)
    seen = evidence(trace, site_prefix=False)
    for n, shot in enumerate(seen.screenshots):
        shutil.copyfile(trace.screenshot_path(shot.path), target / "trajectory" / f"{n}.png")
    return _write(target, task_id, seen.task, seen.response,
                  actions=[narrate(s.action or s.intent, s.element) for s in trace.steps],
                  thoughts=[s.thought or "" for s in trace.steps])


def write_missing(out: Path, episodes) -> None:
    """An empty folder for every episode of the eval that has none (it never ran, or crashed before a trace)."""
    for episode in episodes:
        write_empty(layout_folder(out, episode.seed), episode.task_id, episode.task.goal if episode.task else "")


def write_empty(folder: Path, task_id: str, task: str) -> Path:
    """The folder of a task whose episode never ran or crashed before a trace: no step, no screenshot."""
    target = folder / task_id
    if (target / "result.json").is_file():
        return target
    (target / "trajectory").mkdir(parents=True, exist_ok=True)
    return _write(target, task_id, task, "", actions=[], thoughts=[])


def _write(target: Path, task_id: str, task: str, response: str, *, actions: list[str], thoughts: list[str]) -> Path:
    result = {"task_id": task_id, "task": task, "final_result_response": response, "action_history": actions,
              "thoughts": thoughts}
    (target / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
