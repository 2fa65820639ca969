"""Replay: exact, re-grounded and checked, against the demo site and its layout variant."""

import json

import pytest

from molmo_agent.errors import TraceError
from molmo_agent.replay import replay
from molmo_agent.sites import DEMO_SITE, serve_site
from molmo_agent.trace import read_trace

from .conftest import cli, run_task, settings


@pytest.fixture(scope="module")
def recording(demo_traces):
    """The demo task recorded once with the dom pointer, at scale factor 1."""
    return demo_traces["a1"]


def test_exact_replay_succeeds_without_a_pointer(tmp_path, recording):
    result, divergences = replay(recording, settings(tmp_path), mode="exact")
    assert result.status == "success", result.end.reason
    assert divergences == []
    trace = read_trace(result.run_dir)
    assert trace.header.replay_of == str(recording.resolve()) and trace.header.replay_mode == "exact"
    assert all(s.grounding == [] for s in trace.steps), "an exact replay asks no pointer"
    assert all(s.replay.pixel_difference < 0.005 for s in trace.steps)


def test_replay_at_scale_2_of_a_scale_1_recording(tmp_path, recording):
    result, divergences = replay(recording, settings(tmp_path, scale=2), mode="exact")
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    assert trace.header.scale == 2 and trace.steps[0].observation.image_size == (2560, 1440)
    assert divergences == []


def test_exact_stops_at_the_first_divergence_with_a_report(tmp_path):
    # Recorded on the variant where a promo banner pushes the form down; replayed on the plain layout.
    from molmo_agent.tasks import load_task

    task = load_task(DEMO_SITE.parent / "task.yaml").model_copy(update={"path": "index.html?variant=b"})
    recorded = run_task(task, settings(tmp_path / "rec")).run_dir
    with serve_site(DEMO_SITE) as base:
        result, divergences = replay(recorded, settings(tmp_path / "exact"), mode="exact", url=base)
    assert result.status == "failed" and result.end.reason.startswith("diverged at step 1:")
    [first] = divergences
    assert first.step == 1 and any(d.startswith("screenshot:") for d in first.differences)
    assert first.recorded_screenshot.is_file() and first.current_screenshot.is_file()
    assert first.side_by_side.is_file()
    assert len(read_trace(result.run_dir).steps) == 1, "nothing was done after the divergence"


def test_reground_heals_the_moved_layout_and_marks_the_healed_steps(tmp_path, recording):
    with serve_site(DEMO_SITE) as base:
        result, divergences = replay(recording, settings(tmp_path), mode="reground", url=base + "index.html?variant=b")
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    healed = [s.index for s in trace.steps if s.replay.healed]
    assert healed and healed[0] == 1
    assert all(s.grounding for s in trace.steps if s.replay.healed)
    assert not any(s.replay.healed for s in trace.steps if not s.replay.differences)
    # The first page moved (step 2, "Round trip", sits somewhere else), later pages did not.
    assert trace.steps[1].action.x != read_trace(recording).steps[1].action.x
    assert not trace.steps[-2].replay.healed


def test_check_mode_lists_divergences_and_exits_1(tmp_path, recording):
    with serve_site(DEMO_SITE) as base:
        done = cli("replay", str(recording), "--mode", "check", "--url", base + "index.html?variant=b",
                   "--out", str(tmp_path))
    assert done.returncode == 1
    assert done.stdout.count("diverged:") >= 2 and "side by side" in done.stdout


def test_exact_replay_command_records_a_replay_of_the_run(tmp_path, recording):
    done = cli("replay", str(recording), "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    assert f"trace: {run_dir}" in done.stdout
    replayed, source = read_trace(run_dir), read_trace(recording)
    assert replayed.header.replay_mode == "exact" and replayed.header.replay_of == str(recording.resolve())
    assert len(replayed.steps) == len(source.steps) and replayed.end.status == "success"
    assert [s.replay.source_step for s in replayed.steps] == [s.index for s in source.steps]
    assert [s.action for s in replayed.steps] == [s.action for s in source.steps], "the same points, unasked"


def test_secrets_are_filled_in_at_replay_time(tmp_path, demo_url):
    from molmo_agent.redaction import Secrets
    from molmo_agent.tasks import Task

    plan = 'click "Accept all", type "{{CITY}}" into "From", type "JFK" into "To", click "Search flights"'
    config = settings(tmp_path / "rec")
    config.secrets = Secrets({"CITY": "OAK"})
    recorded = run_task(Task(id="secret", goal=plan, url=demo_url), config)
    assert "from=OAK" in recorded.end.final_url
    again = settings(tmp_path / "again")
    again.secrets = Secrets({"CITY": "OAK"})
    result, _ = replay(recorded.run_dir, again)
    assert result.status == "success" and "from=OAK" in result.end.final_url, result.end.reason
    missing = replay(recorded.run_dir, settings(tmp_path / "none"))[0]
    assert missing.status == "error" and "--secret CITY" in missing.end.reason


def test_hostile_trace_is_refused_before_anything_runs(tmp_path, recording):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(recording, copy)
    lines = (copy / "trace.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"screens/0001.png"', '"../../../etc/passwd"')
    (copy / "trace.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match="outside its run directory"):
        replay(copy, settings(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_replay_writes_only_inside_its_out_folder_whatever_the_trace_says(tmp_path, recording):
    import shutil

    copy = tmp_path / "in" / "copy"
    shutil.copytree(recording, copy)
    lines = (copy / "trace.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header.update(goal="../../../../escape/../../x", run_id="../../escape")
    (copy / "trace.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    before = set(tmp_path.rglob("*"))
    result, _ = replay(copy, settings(tmp_path / "out"), mode="exact")
    assert result.status == "success", result.end.reason
    written = set(tmp_path.rglob("*")) - before
    assert written and all((tmp_path / "out") in p.parents or p == tmp_path / "out" for p in written)
