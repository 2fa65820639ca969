"""An episode in Online-Mind2Web's own layout, so that its official judge script can re-score our runs:
`<folder>/<task_id>/result.json` (task, action_history, thoughts, final_result_response) and
`<folder>/<task_id>/trajectory/<n>.png`, the screenshots in the order they were taken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..judges.evidence import evidence
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
    result = {"task_id": task_id, "task": seen.task, "final_result_response": seen.response,
              "action_history": seen.actions, "thoughts": [s.thought or "" for s in trace.steps]}
    (target / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
