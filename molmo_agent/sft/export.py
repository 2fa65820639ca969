"""Traces -> a dataset that `datasets.load_dataset("imagefolder", data_dir=DIR)` reads, images included.

    DIR/train/metadata.jsonl + DIR/train/*.png
    DIR/test/metadata.jsonl  + DIR/test/*.png      (held-out screenshots, never in train; absent when none)
    DIR/dataset.json                               (format, counts, how to load it)

A split with no rows is not written: `datasets` refuses a split folder that holds no data.

`molmo2`: one pointing example per grounded target (screenshot + "Point to the X." -> Molmo2 point text).
`molmoweb`: one example per answer of MolmoWeb (screenshot + its exact prompt -> its JSON answer); a step
the model would take in two answers (typing at a point: click, then keyboard_type) gives two.
`planner`: one example per step (screenshot + the planner policy's prompt -> the step, in the step language).
`molmowebmix`: one row per trace in MolmoWeb's trajectory datasets' schema, as parquet (sft/molmowebmix.py):
    DIR/data/train-00000-of-00001.parquet  + DIR/dataset.json

Which traces: all, or with `verdict` only those a judge (or a person) gave that verdict last, and with
`min_steps` only those of at least that many steps.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from .. import actions as A
from ..pointers.prompts import prompt_for
from ..protocols import molmoweb
from ..protocols.trajectory import screenshot_png
from ..policies import planner
from ..language import to_step
from ..trace import StepRecord, Trace, read_trace
from ..trace.writer import TRACE_FILE

Format = Literal["molmo2", "molmoweb", "planner", "molmowebmix"]
FORMATS = ("molmo2", "molmoweb", "planner", "molmowebmix")
VERDICTS = ("success", "failure")


def point_text(x: float, y: float, viewport: tuple[int, int], label: str) -> str:
    """Molmo2's answer for one point: image 1, point 1, x and y in thousandths."""
    px = min(max(round(1000 * x / viewport[0]), 0), 1000)
    py = min(max(round(1000 * y / viewport[1]), 0), 1000)
    return f'<points coords="1 1 {px:03d} {py:03d}">{label}</points>'


def _traces(paths: list[Path], verdict: str | None = None, min_steps: int = 0) -> list[Trace]:
    from ..judges import load_judgments

    found = []
    for path in paths:
        dirs = [path] if (path / TRACE_FILE).is_file() else sorted(p.parent for p in path.rglob(TRACE_FILE))
        if not dirs:
            raise ConfigError(f"{path} holds no traces")
        for run_dir in dirs:
            judgments = load_judgments(run_dir) if verdict else []
            if verdict and (not judgments or judgments[-1].verdict != verdict):
                continue  # not judged, or the last word on it (a judge's or a person's) was another
            trace = read_trace(run_dir)
            if len(trace.steps) >= min_steps:
                found.append(trace)
    return found


def _pointing(trace: Trace, step: StepRecord) -> list[dict]:
    rows = []
    for grounding in step.grounding:
        if not grounding.css or grounding.error:
            continue
        x, y = grounding.css[0]
        box = grounding.box.model_dump() if grounding.box else None
        rows.append({"prompt": prompt_for(grounding.target, "molmo2", field=grounding.field),
                     "answer": point_text(x, y, trace.header.viewport, grounding.target),
                     "target": grounding.target, "field": grounding.field, "box": box})
    return rows


def _stepping(trace: Trace, index: int, answered: list[list[molmoweb.ModelStep]], keep: int) -> list[dict]:
    """The step as MolmoWeb's answers (one, or more where the model needs several: typing at a point is a
    click, then keyboard_type), each with the prompt the model would have had before it."""
    step, size = trace.steps[index], trace.header.viewport
    before = [model_step for earlier in answered[:index] for model_step in earlier]
    rows = []
    for model_step in answered[index]:
        if isinstance(molmoweb.to_action(model_step.action, size), A.Infeasible) and step.intent.name not in ("fail", "infeasible"):
            break  # MolmoWeb could not carry it out (a key off its list): not a lesson
        prompt = molmoweb.prompt(trace.header.goal, before, page_index=step.observation.active_tab,
                                 title=step.observation.title, url=step.observation.url, keep=keep)
        answer = {"thought": model_step.thought.strip(), "action": model_step.action}  # as MolmoWeb's loader
        rows.append({"prompt": prompt, "answer": json.dumps(answer, ensure_ascii=False),
                     "target": getattr(step.intent, "target", None), "field": False, "box": None})
        before = before + [model_step]
    return rows


def _planning(trace: Trace, index: int) -> list[dict]:
    step = trace.steps[index]
    said = to_step(step.intent)
    if said is None:
        return []
    prompt = planner.planner_prompt(trace.header.goal, planner.previous_steps(trace.steps[:index]),
                                    step.observation.title, step.observation.url)
    return [{"prompt": prompt, "answer": said,
             "target": getattr(step.intent, "target", None), "field": False, "box": None}]


def export(paths: list[str | Path], out: str | Path, *, format: Format = "molmo2", include_failed: bool = False,
           test_fraction: float = 0.1, holdout: list[str | Path] = (), history: int = molmoweb.HISTORY,
           verdict: str | None = None, min_steps: int = 0) -> dict:
    """Write the dataset; returns counts per split.

    Steps of `holdout` traces all go to the test split; of the others, a `test_fraction` of the
    screenshots, chosen by their content (so one screen is never on both sides).
    """
    if format not in FORMATS:
        raise ConfigError(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if verdict is not None and verdict not in VERDICTS:
        raise ConfigError(f"--verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    out = _fresh(Path(out))
    held = _traces([Path(p) for p in holdout], verdict, min_steps) if holdout else []
    traces = _traces([Path(p) for p in paths], verdict, min_steps) + held
    if not traces:
        raise ConfigError(f"no trace left to export after --verdict {verdict} and --min-steps {min_steps}")
    if format == "molmowebmix":
        from .molmowebmix import write_rows

        counts = {"train": write_rows(traces, out), "test": 0}
        (out / "dataset.json").write_text(json.dumps({"format": format, "rows": counts["train"], "traces": len(traces),
                                                      "load": load_line(out, format)}, indent=2) + "\n")
        return counts
    seen: set[tuple[str, str]] = set()
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for trace in traces:
        answered = [molmoweb.to_model_steps(step, trace.header.viewport) for step in trace.steps]
        for index, step in enumerate(trace.steps):
            if not step.outcome.ok and not include_failed:
                continue
            rows = (_pointing(trace, step) if format == "molmo2" else
                    _stepping(trace, index, answered, history) if format == "molmoweb" else _planning(trace, index))
            if not rows:
                continue
            png = screenshot_png(trace, step)
            digest = hashlib.sha1(png).hexdigest()
            by_content = int(digest[:8], 16) / 0xFFFFFFFF < test_fraction
            split = "test" if trace in held or by_content else "train"
            for row in rows:
                if (digest, row["prompt"]) in seen:
                    continue  # the same screen and question twice teaches nothing new
                seen.add((digest, row["prompt"]))
                name = f"{digest[:16]}.png"
                (out / split).mkdir(parents=True, exist_ok=True)
                if not (out / split / name).exists():
                    (out / split / name).write_bytes(png)
                splits[split].append({"file_name": name, **row, "viewport": list(trace.header.viewport),
                                      "trace": trace.header.run_id, "step": step.index})
    if not splits["train"] and not splits["test"]:
        raise ConfigError(f"no {format} examples in {len(traces)} trace(s): no step succeeded"
                          + ("" if include_failed else " (--include-failed exports failed steps too)"))
    for split, rows in splits.items():
        if not rows:
            continue
        with open(out / split / "metadata.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    counts = {split: len(rows) for split, rows in splits.items()}
    (out / "dataset.json").write_text(json.dumps({"format": format, "examples": counts, "traces": len(traces),
                                                  "load": load_line(out, format)}, indent=2) + "\n")
    return counts


def load_line(out: Path, format: str = "molmo2") -> str:
    """The one line of Python that loads an export."""
    if format == "molmowebmix":
        return f'datasets.load_dataset("parquet", data_dir="{out / "data"}")'
    return f'datasets.load_dataset("imagefolder", data_dir="{out}")'


def _fresh(out: Path) -> Path:
    """`out` emptied of an earlier export (a stale test/ split would load with the new one); anything
    else already there is refused rather than mixed in."""
    if out.exists() and any(out.iterdir()):
        if not (out / "dataset.json").is_file():
            raise ConfigError(f"--out {out} is not empty and holds no earlier export; choose an empty folder")
        for split in ("train", "test", "data"):
            if (out / split).is_dir():
                shutil.rmtree(out / split)
    return out
