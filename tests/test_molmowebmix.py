"""MolmoWebMix in and out: rows built by hand from the published schema (shared/facts/molmowebmix-data.md) are
imported as traces and built into training examples as MolmoWeb's loader builds them; our own traces exported
as rows load with `datasets`, and the examples `train` builds from them equal, byte for byte, the `molmoweb`
export of the same steps."""

import hashlib
import io
import json

import pytest
from PIL import Image

from molmo_agent import actions as A
from molmo_agent.judges import save_judgment
from molmo_agent.judges.records import Judgment
from molmo_agent.protocols import molmoweb
from molmo_agent.trace import read_trace

from .conftest import cli, requires_ml

requires_ml()
import pyarrow as pa  # noqa: E402
import pyarrow.parquet  # noqa: E402,F401
from datasets import load_dataset  # noqa: E402

from molmo_agent.sft.export import export  # noqa: E402
from molmo_agent.sft.molmowebmix import examples, read_rows  # noqa: E402

W, H = 1280, 720


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (W, H), (shade, 200, 255 - shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def _step(name: str, action: dict, thought: str, url: str, title: str, n: int, **extra) -> dict:
    return {"screenshot": f"screenshot_{n:03d}.png",
            "action": {"action_str": f"{name}(...)", "action_output": {"thought": thought, "action_name": name,
                                                                       "action": action}},
            "other_obs": {"page_index": 0, "open_pages_titles": [title], "open_pages_urls": [url]},
            "error": None, **extra}


def human_row() -> dict:
    """A human trajectory as the published rows hold one: pixels, keys by step number, images by name."""
    site = "https://flights.example/"
    steps = {
        "1": _step("goto", {"url": site}, " Open the site. ", "about:blank", None, 1),
        "2": _step("click", {"x": 124.16, "y": 149.76, "button": "left", "click_type": "single"},
                   "Click the From field.", site, "Flights", 2),
        "3": _step("keyboard_type", {"text": "SFO"}, "Type the airport.", site, "Flights", 3),
        "4": _step("scroll", {"delta_x": 0, "delta_y": -216}, "Back up.", site, "Flights", 4, image_w=W, image_h=H),
        "5": _step("click", {"bbox": [600, 300, 80, 40], "button": "left", "click_type": "single"},
                   "Search.", site, "Flights", 5),
        "6": _step("send_msg_to_user", {"msg": "[ANSWER] $99"}, "Done.", site + "results", "Results", 6),
    }
    steps["1"]["other_obs"]["open_pages_titles"] = [None]  # a tab with no title yet
    instruction = {"high_level": "Find the cheapest flight from SFO.", "mid_level": "", "low_level": "m",
                   "steps": ["Open the site", "Search"]}
    names = [f"screenshot_{n:03d}.png" for n in range(1, 7)]
    return {"sample_id": "human-0001", "instruction": json.dumps(instruction), "trajectory": json.dumps(steps),
            "images": [{"bytes": _png(40 * n), "path": name} for n, name in enumerate(names)],
            "image_paths": names}


def _write(rows: list[dict], folder) -> None:
    folder.mkdir(parents=True)
    pa.parquet.write_table(pa.Table.from_pylist(rows), folder / "train-00000.parquet")


def test_published_rows_become_examples_as_molmowebs_loader_builds_them(tmp_path):
    _write([human_row()], tmp_path / "human")
    [row] = read_rows(tmp_path / "human")
    built = examples(row)
    assert [json.loads(e["answer"])["action"] for e in built] == [
        {"name": "goto", "url": "https://flights.example/"},
        {"name": "click", "x": 9.7, "y": 20.8, "button": "left", "click_type": "single"},
        {"name": "keyboard_type", "text": "SFO"},
        {"name": "scroll", "delta_x": 0.0, "delta_y": -30.0},
        {"name": "click", "x": 50.0, "y": 44.4, "button": "left", "click_type": "single"},
        {"name": "send_msg_to_user", "msg": "[ANSWER] $99"}]
    assert built[0]["answer"] == '{"thought": "Open the site.", "action": {"name": "goto", "url": "https://flights.example/"}}'
    assert built[0]["prompt"] == molmoweb.prompt("Find the cheapest flight from SFO.", [], page_index=0,
                                                 title="New Tab", url="about:blank")
    assert built[2]["prompt"].endswith(
        "## Step 1\nTHOUGHT: Open the site.\nACTION: {'name': 'goto', 'url': 'https://flights.example/'}\n"
        "## Step 2\nTHOUGHT: Click the From field.\nACTION: {'name': 'click', 'x': 9.7, 'y': 20.8, 'button': "
        "'left', 'click_type': 'single'}\n\n# CURRENTLY ACTIVE PAGE\nPage 0: Flights | https://flights.example/"
        "\n\n# NEXT STEP\n")
    assert [e["png"] for e in built] == [i["bytes"] for i in row["images"]]
    many = {**row, "trajectory": json.dumps({str(n): json.loads(row["trajectory"])["3"] | {"screenshot": "screenshot_003.png"}
                                             for n in range(1, 14)})}
    assert examples(many)[12]["prompt"].count("## Step") == 10 and "## Step 3\n" in examples(many)[12]["prompt"]


def test_import_turns_rows_into_traces_that_report_shows(tmp_path):
    _write([human_row()], tmp_path / "human")
    done = cli("import", "molmowebmix", str(tmp_path / "human"), "--out", str(tmp_path / "traces"))
    assert done.returncode == 0, done.stderr
    trace = read_trace(tmp_path / "traces" / "human-0001")
    assert trace.header.goal == "Find the cheapest flight from SFO." and trace.header.viewport == (W, H)
    assert [type(s.action) for s in trace.steps] == [A.Goto, A.Click, A.Type, A.Wheel, A.Click, A.Message]
    assert (trace.steps[1].action.x, trace.steps[1].action.y) == (124.2, 149.8), "the point, in pixels again"
    assert trace.end.answer == "$99" and trace.end.status == "success"
    assert trace.screenshot_path(trace.steps[2].observation.screenshot).read_bytes() == _png(80)
    report = cli("report", str(tmp_path / "traces" / "human-0001"))
    assert report.returncode == 0 and "Type the airport." in (tmp_path / "traces" / "human-0001" / "report.html").read_text()
    bad = cli("import", "molmowebmix", str(tmp_path / "nothing"), "--out", str(tmp_path / "t2"))
    assert bad.returncode == 2 and "holds no parquet files" in bad.stderr


def test_our_rows_load_with_datasets_and_train_builds_the_molmoweb_exports_examples(tmp_path, demo_traces):
    runs = [demo_traces["a1"], demo_traces["b2"]]
    done = cli("export", *map(str, runs), "--format", "molmowebmix", "--out", str(tmp_path / "mix"))
    assert done.returncode == 0, done.stderr
    [line] = [ln.strip() for ln in done.stdout.splitlines() if "load_dataset" in ln]
    assert line == f'datasets.load_dataset("parquet", data_dir="{tmp_path / "mix" / "data"}")'
    loaded = load_dataset("parquet", data_dir=str(tmp_path / "mix" / "data"), split="train")
    assert loaded.num_rows == 2 and set(loaded.column_names) == {"sample_id", "instruction", "trajectory", "images",
                                                                  "image_paths"}
    first = loaded[0]
    steps = json.loads(first["trajectory"])
    assert list(steps) == [str(n) for n in range(1, len(steps) + 1)] and first["image_paths"][0] == "screenshot_001.png"
    click = next(s for s in steps.values() if s["action"]["action_output"]["action_name"] == "click")
    assert set(click["action"]["action_output"]["action"]) == {"x", "y", "button", "click_type"}
    assert click["other_obs"]["open_pages_urls"] and click["image_w"] == 1280

    export(runs, tmp_path / "mw", format="molmoweb", test_fraction=0, include_failed=True)
    theirs = [json.loads(line) for line in (tmp_path / "mw" / "train" / "metadata.jsonl").read_text().splitlines()]
    ours = [e for row in read_rows(tmp_path / "mix") for e in examples(row)]
    assert [(r["prompt"], r["answer"]) for r in theirs] == [(e["prompt"], e["answer"]) for e in ours]
    assert [r["file_name"][:16] for r in theirs] == [hashlib.sha1(e["png"]).hexdigest()[:16] for e in ours]

    from molmo_agent.sft.train import _load_rows  # what train is given, mixed by weight

    mixed = _load_rows([f"{tmp_path / 'mix'}:2", tmp_path / "mw"])
    assert len(mixed) == 2 * len(ours) + len(theirs)
    assert [(r["prompt"], r["answer"]) for r in mixed[:len(ours)]] == [(e["prompt"], e["answer"]) for e in ours]
    assert mixed[0]["image"].size == (1280, 720)


def test_export_keeps_what_a_judge_passed_and_long_enough_runs(tmp_path, demo_traces):
    import shutil

    for name in ("a1", "b1", "c1"):
        shutil.copytree(demo_traces[name], tmp_path / "runs" / name)
    save_judgment(tmp_path / "runs" / "a1", Judgment(method="webvoyager", model="m", endpoint="e", verdict="success"))
    save_judgment(tmp_path / "runs" / "b1", Judgment(method="webvoyager", model="m", endpoint="e", verdict="success"))
    save_judgment(tmp_path / "runs" / "b1", Judgment(method="person", model="", endpoint="", verdict="failure"))
    kept = export([tmp_path / "runs"], tmp_path / "ok", format="molmowebmix", verdict="success")
    assert kept["train"] == 1, "a1 passed; b1 was overruled last; c1 was never judged"
    steps = len(read_trace(tmp_path / "runs" / "a1").steps)
    long_enough = cli("export", str(tmp_path / "runs"), "--format", "planner", "--min-steps", str(steps + 1),
                      "--out", str(tmp_path / "none"))
    assert long_enough.returncode == 2 and "no trace left to export" in long_enough.stderr


@pytest.mark.parametrize("value", ["maybe"])
def test_export_refuses_a_verdict_it_does_not_know(tmp_path, demo_traces, value):
    done = cli("export", str(demo_traces["a1"]), "--verdict", value, "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "--verdict 'maybe' is not one of success, failure" in done.stderr
