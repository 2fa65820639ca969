"""export: every format loads through `datasets` exactly as the README says, and its rows match the traces."""

import json
import subprocess
import sys

import pytest
from PIL import Image, ImageChops

from molmo_agent.points import parse_points, to_css
from molmo_agent.language import to_step
from molmo_agent.trace import read_trace

from .conftest import cli, requires_ml

requires_ml()
from datasets import load_dataset  # noqa: E402

from molmo_agent.sft.export import export  # noqa: E402


def _step(traces: dict, row: dict):
    trace = traces[row["trace"]]
    return trace, trace.steps[row["step"] - 1]


def _same_screen(trace, step, image: Image.Image) -> bool:
    """The row's image is the step's screenshot, brought to CSS size."""
    shot = Image.open(trace.screenshot_path(step.observation.screenshot)).convert("RGB")
    shot = shot.resize(trace.header.viewport, Image.Resampling.LANCZOS)
    return ImageChops.difference(shot, image.convert("RGB")).getbbox() is None


def _check_row(fmt: str, traces: dict, row: dict) -> None:
    trace, step = _step(traces, row)
    assert row["image"].size == tuple(trace.header.viewport) == (1280, 720)
    assert _same_screen(trace, step, row["image"]), f"row of step {step.index} shows another screen"
    if fmt == "molmo2":
        grounding = next(g for g in step.grounding if g.target == row["target"])
        what = f"input field labelled {grounding.target}" if grounding.field else grounding.target
        assert row["prompt"] == f"Point to the {what}\nPlease say 'There are none.' if it is not in the image."
        [point] = parse_points(row["answer"])
        x, y = to_css(point, image_size=(1280, 720), viewport=(1280, 720))
        assert abs(x - grounding.css[0][0]) <= 1.3 and abs(y - grounding.css[0][1]) <= 1.3
        assert grounding.box.contains(x, y)
    elif fmt == "planner":
        assert row["answer"] == to_step(step.intent)
        assert f"GOAL: {trace.header.goal}" in row["prompt"] and step.observation.url in row["prompt"]
    else:
        answer = json.loads(row["answer"])
        assert trace.header.goal in row["prompt"] and step.observation.url in row["prompt"]
        action, done = answer["action"], step.action
        if getattr(done, "x", None) is not None and action["name"] in ("click", "dblclick", "select_option"):
            assert abs(action["x"] * 12.8 - done.x) <= 1 and abs(action["y"] * 7.2 - done.y) <= 1


@pytest.mark.parametrize("fmt", ["molmo2", "molmoweb", "planner"])
@pytest.mark.parametrize("held_out", [False, True], ids=["all-train", "held-out"])
def test_each_format_loads_as_the_readme_says_and_matches_its_traces(tmp_path, demo_traces, fmt, held_out):
    runs = [demo_traces["a1"], demo_traces["b2"]]
    holdout = [demo_traces["b15"]] if held_out else []
    counts = export(runs, tmp_path / "data", format=fmt, holdout=holdout, test_fraction=0)
    traces = {t.header.run_id: t for t in map(read_trace, runs + holdout)}

    dataset = load_dataset("imagefolder", data_dir=str(tmp_path / "data"))  # the README's line

    assert set(dataset) == ({"train", "test"} if held_out else {"train"})
    assert not (tmp_path / "data" / "test").exists() or held_out, "no empty split is written"
    assert {split: len(rows) for split, rows in dataset.items()} == {k: v for k, v in counts.items() if v}
    for split, rows in dataset.items():
        for row in rows:
            _check_row(fmt, traces, row)
            assert (row["trace"] == read_trace(demo_traces["b15"]).header.run_id) == (split == "test")


def test_the_cli_prints_the_line_that_loads_the_export_and_a_new_export_replaces_the_old(tmp_path, demo_traces):
    out = tmp_path / "data"
    first = cli("export", str(demo_traces["a1"]), "--out", str(out), "--holdout", str(demo_traces["b15"]))
    assert first.returncode == 0, first.stderr
    assert (out / "test").is_dir()
    again = cli("export", str(demo_traces["a1"]), "--out", str(out), "--format", "planner", "--test-fraction", "0")
    assert again.returncode == 0, again.stderr
    [line] = [ln.strip() for ln in again.stdout.splitlines() if "load_dataset" in ln]
    assert line == f'datasets.load_dataset("imagefolder", data_dir="{out}")'
    loaded = subprocess.run([sys.executable, "-c", f"import datasets; print(dict(datasets.{line.split('.', 1)[1]}.num_rows))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "{'train': 14}", "the old held-out split went with the old export"
    assert json.loads((out / "dataset.json").read_text())["format"] == "planner"


def test_export_refuses_what_it_cannot_do(tmp_path, demo_traces):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    busy = cli("export", str(demo_traces["a1"]), "--out", str(tmp_path / "mine"))
    assert busy.returncode == 2 and "not empty" in busy.stderr and (tmp_path / "mine" / "notes.txt").exists()
    bad = cli("export", str(demo_traces["a1"]), "--out", str(tmp_path / "cli"), "--format", "nope")
    assert bad.returncode == 2 and "--format 'nope'" in bad.stderr
