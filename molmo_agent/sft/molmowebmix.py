"""MolmoWebMix, in and out: the rows of MolmoWeb's published trajectory datasets (allenai/MolmoWeb-HumanTrajs,
-SyntheticTrajs, ...; facts: shared/facts/molmowebmix-data.md).

A row: `sample_id`, `instruction` (JSON: high_level, mid_level, low_level, steps), `trajectory` (JSON, keyed by
step number from "1": protocols/trajectory.py writes it, in the datasets' spelling), `images` ({bytes, path} a
screenshot) and `image_paths`. Out: `export --format molmowebmix` writes one row a trace as parquet, which
`datasets.load_dataset("parquet", ...)` reads. In: `train` builds each step's example as MolmoWeb's loader does
(the goal from the highest instruction level given, pixels to percent with one decimal, the last 10 answers in
the prompt, the target `{"thought", "action"}` as JSON with the action's keys in the loader's order), and
`import molmowebmix` turns rows into traces that `report` and `replay` read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from .. import actions as A
from ..errors import ConfigError
from ..language import to_step
from ..protocols import molmoweb
from ..protocols.molmoweb import extent, percent
from ..protocols.trajectory import entries, screenshots, trajectory
from ..trace import Trace

COLUMNS = ("sample_id", "instruction", "trajectory", "images", "image_paths")
DATA_FILE = "data/train-00000-of-00001.parquet"
NORMALIZED = ("click", "scroll", "scroll_at", "mouse_drag_and_drop")
"""the actions their loader turns from pixels into percent; it copies any other's parameters as they are"""


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError("MolmoWebMix data is parquet: pip install 'molmo-agent[ml]' (pyarrow comes with datasets)") from None
    return pyarrow


# -- out ------------------------------------------------------------------------------------------------
def to_row(trace: Trace) -> dict:
    """A trace as one row of the trajectory datasets."""
    answers = entries(trace)
    steps = trajectory(trace, answers, data=True)
    images = [{"bytes": png, "path": steps[str(n)]["screenshot"]}
              for n, png in enumerate(screenshots(trace, answers), 1)]
    said = [s for s in (to_step(step.intent) for step in trace.steps) if s]
    instruction = {"high_level": trace.header.goal, "mid_level": "", "low_level": "", "steps": said}
    return {"sample_id": trace.header.run_id, "instruction": json.dumps(instruction, ensure_ascii=False),
            "trajectory": json.dumps(steps, ensure_ascii=False), "images": images,
            "image_paths": [image["path"] for image in images]}


def write_rows(traces: list[Trace], out: Path) -> int:
    """The traces as parquet under `out` (rows without any answer left out); the number of rows written."""
    pa = _pyarrow()
    rows = [row for row in (to_row(t) for t in traces) if json.loads(row["trajectory"])]
    if not rows:
        raise ConfigError(f"none of the {len(traces)} trace(s) has a step to export")
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema([("sample_id", pa.string()), ("instruction", pa.string()), ("trajectory", pa.string()),
                        ("images", pa.list_(image)), ("image_paths", pa.list_(pa.string()))])
    table = pa.Table.from_pylist(rows, schema=schema)
    (out / DATA_FILE).parent.mkdir(parents=True, exist_ok=True)
    pa.parquet.write_table(table, out / DATA_FILE)
    return len(rows)


# -- in -------------------------------------------------------------------------------------------------
def is_rows(path: Path) -> bool:
    return Path(path).is_dir() and any(Path(path).rglob("*.parquet"))


def read_rows(path: Path, limit: int | None = None) -> Iterator[dict]:
    """Every row of the parquet files under `path` (a local copy of a published dataset, or our export)."""
    pa = _pyarrow()
    files = sorted(Path(path).rglob("*.parquet")) if Path(path).is_dir() else [Path(path)]
    if not files or not files[0].is_file():
        raise ConfigError(f"{path} holds no parquet files; pass a folder of MolmoWebMix parquet files")
    count = 0
    for file in files:
        table = pa.parquet.read_table(file)
        if missing := [c for c in ("sample_id", "instruction", "trajectory", "images") if c not in table.column_names]:
            raise ConfigError(f"{file} is not MolmoWebMix trajectory data: no column {', '.join(missing)}")
        for row in table.to_pylist():
            yield row
            count += 1
            if limit and count >= limit:
                return


def _images(row: dict) -> dict[str, bytes]:
    """Screenshot file name -> its bytes (images are {bytes, path} or raw bytes; names from image_paths)."""
    raw = row.get("images") or []
    paths = row.get("image_paths") or [
        image.get("path") if isinstance(image, dict) else None for image in raw]
    found = {}
    for n, image in enumerate(raw):
        data = image.get("bytes") if isinstance(image, dict) else image
        name = paths[n] if n < len(paths) and paths[n] else f"screenshot_{n + 1:03d}.png"
        if data:
            found[Path(name).name] = data
    return found


def _goal(instruction: dict) -> str:
    """The highest level given, as their loader's plain goal does."""
    return instruction.get("high_level") or instruction.get("mid_level") or instruction.get("low_level") or \
        instruction.get("goal") or ""


def model_action(action_name: str, params: dict, size: tuple[int, int]) -> dict:
    """A dataset step's action as the model answers it: their loader's formatted action (key order included)."""
    width, height = size
    formatted = {"name": action_name}
    if action_name not in NORMALIZED:
        formatted.update(params)
        if action_name == "send_msg_to_user":
            formatted["msg"] = molmoweb.cut(str(formatted.get("msg", "")), molmoweb.MESSAGE_LIMIT)
    elif action_name == "click":
        if "bbox" in params:  # a box is sampled inside by their loader; its centre here, the same every time
            x, y, w, h = params["bbox"]
            params = {**params, "x": x + w / 2, "y": y + h / 2}
        formatted.update(x=percent(float(params["x"]), width), y=percent(float(params["y"]), height),
                         button=params.get("button", ""), click_type=params.get("click_type", ""))
    elif action_name == "scroll":
        formatted.update(delta_x=extent(float(params["delta_x"]), width), delta_y=extent(float(params["delta_y"]), height))
    elif action_name == "scroll_at":
        formatted.update(x=percent(float(params["x"]), width), y=percent(float(params["y"]), height),
                         delta_x=extent(float(params["delta_x"]), width), delta_y=extent(float(params["delta_y"]), height))
    else:
        formatted.update(from_x=percent(float(params["from_x"]), width), from_y=percent(float(params["from_y"]), height),
                         to_x=percent(float(params["to_x"]), width), to_y=percent(float(params["to_y"]), height))
    return formatted


class RowStep:
    """One step of a row, read as their loader reads it."""

    def __init__(self, key: str, step: dict, png: bytes) -> None:
        self.key, self.step, self.png = key, step, png
        output = step["action"]["action_output"]
        with Image.open(io.BytesIO(png)) as image:
            self.image_size = image.size
        self.size = (step["image_w"], step["image_h"]) if "image_w" in step and "image_h" in step else self.image_size
        self.thought = (output.get("thought") or "").strip()
        self.action = model_action(output["action_name"], dict(output.get("action") or {}), self.size)
        other = step.get("other_obs") or {}
        if other and all(k in other for k in ("page_index", "open_pages_titles", "open_pages_urls")):
            self.page_index = int(other["page_index"])
            self.titles = [t if t is not None else "New Tab" for t in other["open_pages_titles"]]
            self.urls = [u if u is not None else "about:blank" for u in other["open_pages_urls"]]
            self.title, self.url = self.titles[self.page_index], self.urls[self.page_index]
        else:
            self.page_index, self.titles, self.urls, self.title, self.url = 0, [], [], "Unknown", "Unknown"
        self.error = step.get("error")


def row_steps(row: dict) -> tuple[str, list[RowStep]]:
    """The row's goal and its steps in order; steps without their screenshot are left out, as theirs does."""
    try:
        instruction = json.loads(row["instruction"])
        steps = json.loads(row["trajectory"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"row {row.get('sample_id')!r}: instruction or trajectory is not JSON ({exc})") from None
    images = _images(row)
    found = []
    for key, step in sorted(steps.items(), key=lambda item: int(item[0])):
        png = images.get(Path(step.get("screenshot") or "").name)
        if png is not None:
            found.append(RowStep(key, step, png))
    return _goal(instruction), found


def examples(row: dict, history: int = molmoweb.HISTORY) -> list[dict]:
    """The row's training examples, as MolmoWeb's loader builds them: {png, prompt, answer} a step."""
    goal, steps = row_steps(row)
    if not goal:
        return []
    built, before = [], []
    for step in steps:
        prompt = molmoweb.prompt(goal, before, page_index=step.page_index, title=step.title, url=step.url, keep=history)
        answer = json.dumps({"thought": step.thought, "action": step.action}, ensure_ascii=False)
        built.append({"png": step.png, "prompt": prompt, "answer": answer, "sample_id": row["sample_id"],
                      "step": step.key})
        before.append(molmoweb.ModelStep(thought=step.thought, action=step.action))
    return built


def to_trace(row: dict, root: Path) -> Path:
    """A row as a trace under `root` (its screenshots, each step's point in pixels, the final answer)."""
    from ..trace.records import ObservationRecord, Outcome, StepRecord, TraceEnd, TraceHeader
    from ..trace.writer import TraceWriter
    from .. import __version__

    goal, steps = row_steps(row)
    if not steps:
        raise ConfigError(f"row {row.get('sample_id')!r} has no step with its screenshot")
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(row["sample_id"]))[:80] or "row"
    writer = TraceWriter(root / name)
    size = steps[0].size
    start = steps[0].url if steps[0].url not in ("Unknown", "") else None
    writer.write(TraceHeader(run_id=name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             goal=goal, start_url=start, policy="molmowebmix", pointer={"name": "none"},
                             viewport=size, scale=1.0, max_steps=len(steps),
                             versions={"molmo_agent": __version__, "data": "MolmoWebMix"}))
    answer = None
    for index, step in enumerate(steps, 1):
        shot = writer.screenshot(f"step-{index:03d}", step.png)
        action = molmoweb.to_action(step.action, size)
        if isinstance(action, A.Message) and action.text.startswith(molmoweb.ANSWER):
            answer = action.text[len(molmoweb.ANSWER):].strip()
        tabs = [{"title": t, "url": u} for t, u in zip(step.titles, step.urls)] or [{"title": step.title, "url": step.url}]
        writer.write(StepRecord(
            index=index, observation=ObservationRecord(url=step.url, title=step.title, screenshot=shot,
                                                       image_size=step.image_size, tabs=tabs,
                                                       active_tab=step.page_index, dom_signature=""),
            thought=step.thought, policy_raw=json.dumps({"thought": step.thought, "action": step.action}),
            intent=action, action=action,
            outcome=Outcome(ok=not step.error, error=json.dumps(step.error) if step.error else None)))
    writer.write(TraceEnd(status="success" if answer is not None or not steps[-1].error else "failed",
                          answer=answer, steps=len(steps), seconds=0.0))
    writer.close()
    return writer.dir
