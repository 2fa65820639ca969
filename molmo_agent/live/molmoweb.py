"""Every episode of a live eval in MolmoWeb's results layout, so that MolmoWeb's own
`python -m benchmarks.benchmarks judge` judges our runs unchanged:

    <eval>/molmoweb/<file>                  the tasks this eval covered, in the benchmark's own format (its
                                            --data_path: its judge counts exactly these, a task without a
                                            folder as MISSING, as ours counts it failed)
    <eval>/molmoweb/<task_id>/              one episode a task (--episodes 1), or
    <eval>/molmoweb/seed-N/<task_id>/       one folder of task folders per episode index
        trajectory.json, images/screenshot_001.png, ...   (protocols/trajectory.py)

An episode that gave no answer has no folder, as in MolmoWeb's own harness.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..protocols.trajectory import TRAJECTORY, write_episode
from ..trace import Trace
from .tasks import SPECS

LAYOUT_DIR = "molmoweb"
__all__ = ["LAYOUT_DIR", "TRAJECTORY", "layout_folder", "subset_path", "write_results"]


def layout_folder(out: Path, seed: int | None) -> Path:
    return out / LAYOUT_DIR if seed is None else out / LAYOUT_DIR / f"seed-{seed}"


def subset_path(out: Path, benchmark: str) -> Path:
    return out / LAYOUT_DIR / SPECS[benchmark].shipped


def write_results(trace: Trace | None, task_id: str, folder: Path) -> Path | None:
    """The episode's folder (replacing an earlier one, its verdicts included); none for a run without a trace."""
    target = folder / task_id
    if trace is None:
        if target.exists():
            shutil.rmtree(target)
        return None
    return write_episode(trace, target, task_id)
