"""Published benchmarks offline: WebVoyager and Online-Mind2Web task files written for these tests, their
invented hosts answered from local pages with --map-url, a scripted MolmoWeb server as the policy and a
scripted judge model, both on loopback."""

import hashlib
import json
from pathlib import Path

import pytest

from molmo_agent.errors import ConfigError
from molmo_agent.evaluate import finished_results
from molmo_agent.judges import load_judgments
from molmo_agent.judges.webjudge import WebJudge
from molmo_agent.live import load_live
from molmo_agent.trace import read_trace

from .conftest import cli, run_task, settings
from .judge_server import judge_server
from .molmoweb_server import molmoweb_server

DATA = Path(__file__).parent / "data"
WEBVOYAGER, MIND2WEB = DATA / "webvoyager.jsonl", DATA / "mind2web.json"
OFFICIAL = Path(__file__).parent / "official"
"""stand-ins for the benchmarks' own judge code: same command lines, same files in and out"""


def answer(text: str) -> tuple:
    return ("action", {"name": "send_msg_to_user", "msg": f"[ANSWER] {text}"})


SCRIPTS = {  # words of a goal -> the steps of its 1st, 2nd, ... episode (taken in turn)
    "lasagna": [[("click", "Vegetarian lasagna"), answer("45 minutes")]],
    "soup": [[("click", "Soup of the day"), answer("Tomato")], [("click", "Soup of the day"), answer("Minestrone")]],
    "cheapest": [[answer("$99")]],
    "sorted by price": [[("click", "Sort by price"), answer("Sorted.")]],
}
VERDICTS = {"45 minutes": "success", "Minestrone": "success", "Tomato": "failure", "$99": "garbled",
            "lasagna": "success", "soup": "failure", "flights": "garbled"}


def _maps(pages_url: str) -> list[str]:
    local = pages_url.rstrip("/") + "/live"
    return ["--map-url", f"https://www.recipes.example/={local}/recipes/",
            "--map-url", f"https://flights.example/={local}/flights/"]


def test_webvoyager_with_its_judge_scores_pass_at_1_and_pass_at_3_per_site(tmp_path, pages_url, ocr_pointer):
    patches = tmp_path / "patches.json"
    patches.write_text(json.dumps({"replace": {"Flights--0": "What does the cheapest flight cost today?"},
                                   "drop": ["Flights--1"]}))
    out = tmp_path / "eval"
    with molmoweb_server(ocr_pointer, SCRIPTS) as (policy, model), judge_server(VERDICTS) as (judge, judged):
        done = cli("eval", "webvoyager", str(WEBVOYAGER), "--patches", str(patches), "--episodes", "3",
                   "--policy", "molmoweb", "--endpoint", policy, "--api", "molmoweb", "--model", "allenai/MolmoWeb-8B",
                   *_maps(pages_url), "--judge", judge, "--judge-model", "judge-vl", "--out", str(out), timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # not every episode passed
    summary = json.loads((out / "summary.json").read_text())
    scores = summary["scores"]
    assert scores["overall"] == {"tasks": 3, "episodes": 9, "pass@1": round(4 / 9, 4), "pass@3": round(2 / 3, 4)}
    assert scores["by_site"] == {"Flights": {"tasks": 1, "episodes": 3, "pass@1": 0.0, "pass@3": 0.0},
                                 "Recipes": {"tasks": 2, "episodes": 6, "pass@1": round(4 / 6, 4), "pass@3": 1.0}}
    assert summary["judged"] == {"success": 4, "failure": 2, "unknown": 3}
    assert summary["source"]["sha256"] == hashlib.sha256(WEBVOYAGER.read_bytes()).hexdigest()
    assert "Recipes" in done.stdout and "pass@3 66.7%" in done.stdout

    results = {r.key: r for r in finished_results(out)}
    assert all(r.source == summary["source"]["sha256"] for r in results.values())
    soup = [results[f"Recipes--1#{s}"] for s in range(3)]
    assert [r.verdict for r in soup] == ["failure", "success", "failure"]
    assert all(r.agent_success for r in soup), "the agent said it was done each time; the judge decided"
    flight = results["Flights--0#0"]
    assert flight.verdict == "unknown" and not flight.success

    run_dir = out / results["Recipes--0#0"].trace
    trace = read_trace(run_dir)
    assert trace.header.goal == "How long does the vegetarian lasagna take?"
    assert trace.header.start_url == "https://www.recipes.example/", "the page sees the benchmark's own URL"
    assert trace.steps[1].observation.url == "https://www.recipes.example/lasagna.html"
    [judgment] = load_judgments(run_dir)
    [call] = judgment.calls
    assert call.text.startswith("Task: On https://www.recipes.example/: How long does the vegetarian lasagna take?\n"
                                "Final response: 45 minutes\n")
    assert call.images == [s.observation.screenshot for s in trace.steps] + [trace.end.final_screenshot]
    assert judged.calls[0].images == len(call.images) and judged.calls[0].model == "judge-vl"
    report = (run_dir / "report.html").read_text()
    assert "The final page shows the answer." in report and "webvoyager (judge-vl)" in report
    assert any("cheapest flight cost today?" in s.prompt for s in model.seen), "the patched question"
    assert not any("12 March 2023" in s.prompt for s in model.seen), "the dropped task"
    eval_report = (out / "report.html").read_text()
    assert "site: Recipes" in eval_report and hashlib.sha256(WEBVOYAGER.read_bytes()).hexdigest() in eval_report


def test_mind2web_with_webjudge_writes_the_official_layouts_and_rejudges(tmp_path, pages_url, ocr_pointer):
    """Both official layouts written as the episodes end; MolmoWeb's judge command and Online-Mind2Web's script
    (stand-ins) run on them, their verdicts read back beside our WebJudge's; then our own judge again."""
    out = tmp_path / "eval"
    scores = {"step 1": 2, "step 2": 4, "step 3": 3, "the final page": 5}
    with molmoweb_server(ocr_pointer, SCRIPTS) as (policy, _), judge_server(VERDICTS, scores) as (judge, judged):
        done = cli("eval", "mind2web", str(MIND2WEB), "--policy", "molmoweb", "--endpoint", f"{policy}/v1",
                   "--model", "allenai/MolmoWeb-8B", *_maps(pages_url), "--judge", judge, "--judge-model", "judge-vl",
                   "--judge-official", str(OFFICIAL / "molmoweb"), "--out", str(out), timeout=600)
        assert done.returncode == 1, done.stdout + done.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["judge"]["method"] == "webjudge", "Online-Mind2Web's own judge by default"
        assert summary["scores"]["by_level"] == {
            "easy": {"tasks": 1, "episodes": 1, "pass@1": 1.0}, "hard": {"tasks": 1, "episodes": 1, "pass@1": 0.0},
            "medium": {"tasks": 1, "episodes": 1, "pass@1": 0.0}}
        assert summary["judged"] == {"success": 1, "failure": 1, "unknown": 1}

        results = {r.task: r for r in finished_results(out)}
        easy = results["a1b2c3d4e5f60718293a4b5c6d7e8f90"]
        run_dir = out / easy.trace
        trace = read_trace(run_dir)
        [judgment] = load_judgments(run_dir)
        stages = [c.stage for c in judgment.calls]
        shots = len(trace.steps) + 1
        assert stages == ["key points"] + [f"screenshot of step {i}" for i in range(1, shots)] + \
            ["screenshot of the final page", "final"]
        assert judgment.kept_images == [s.observation.screenshot for s in trace.steps[1:]] + [trace.end.final_screenshot]
        finals = [c for c in judged.calls if c.system.startswith("You decide") and "lasagna" in c.text]
        assert len(finals) == 1 and finals[0].images == shots - 1, "step 1 scored 2, under the threshold of 3"
        assert 'Actions:\n1. click on the link "Vegetarian lasagna" at (' in finals[0].text, \
            "each action as a person reads it, with what it acted on"
        assert "45 minutes" not in finals[0].text, "the final call sees actions, never the agent's answer"
        assert "Note: The page shows the final page." in finals[0].text

        layout = out / "online-mind2web" / easy.task
        written = json.loads((layout / "result.json").read_text())
        assert written["task"] == "Find how long the vegetarian lasagna takes on Recipes."
        assert written["final_result_response"] == "45 minutes"
        assert len(written["action_history"]) == len(written["thoughts"]) == len(trace.steps), "one per step, aligned"
        assert written["action_history"][0].startswith('click on the link "Vegetarian lasagna" at (')
        assert written["action_history"][1] == 'tell the user "[ANSWER] 45 minutes"'
        assert sorted(p.name for p in (out / "online-mind2web").iterdir()) == sorted(
            t["task_id"] for t in json.loads(MIND2WEB.read_text())), "a folder for every task of the file"
        assert sorted(p.name for p in (layout / "trajectory").iterdir()) == sorted(f"{n}.png" for n in range(shots))

        # MolmoWeb's results layout, judged by its judge command (stand-in) through our judge endpoint
        theirs = out / "molmoweb" / easy.task
        steps = json.loads((theirs / "trajectory.json").read_text())
        assert list(steps) == [str(n) for n in range(1, len(trace.steps) + 1)]
        click, said, ended = steps["1"], steps["2"], steps["3"]
        assert click["action"]["action_str"].startswith("mouse_click(x=") and \
            click["action"]["action_str"].endswith(", button='left')")
        assert click["action"]["action_output"]["action_name"] == "mouse_click"
        assert set(click["action"]["action_output"]["action"]) == {"x", "y", "button", "click_type"}
        assert click["action"]["action_description"].startswith('click on the link "Vegetarian lasagna" at (')
        assert said["action"]["action_str"] == "send_msg_to_user(text='[ANSWER] 45 minutes')"
        assert ended["action"]["action_output"]["action"] == {"msg": "[EXIT]"}
        assert [s["screenshot"] for s in steps.values()] == [f"screenshot_{n:03d}.png" for n in range(1, len(steps) + 1)]
        assert all((theirs / "images" / s["screenshot"]).is_file() for s in steps.values())
        assert (theirs / "user_message" / click["user_message"]).read_text().startswith(
            "\n# GOAL\nFind how long the vegetarian lasagna takes on Recipes.\n")
        assert json.loads((out / "molmoweb" / "online_mind2web.json").read_text()) == json.loads(MIND2WEB.read_text())
        official = {r.task: r.official for r in finished_results(out)}
        assert {t: o.verdict for t, o in official.items()} == {
            easy.task: "success", "0f9e8d7c6b5a49382716f5e4d3c2b1a0": "failure",
            "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b_1": "failure"}
        assert official[easy.task].judge == "molmoweb webjudge_online_mind2web"
        assert official[easy.task].file == f"molmoweb/{easy.task}/webjudge_online_mind2web_verdict.json"
        asked = [c for c in judged.calls if c.system == "stand-in webvoyager"]
        assert len(asked) == 3 and {c.model for c in asked} == {"o4-mini"}, "their judge names its own model"
        assert "Final response: 45 minutes\n" in next(c.text for c in asked if "lasagna" in c.text)
        assert summary["official"]["scores"]["overall"]["pass@1"] == round(1 / 3, 4)

        # Online-Mind2Web's script (stand-in) on its own layout, re-scoring the finished eval
        scored = cli("judge", str(out), "--official", str(OFFICIAL / "online-mind2web"), "--judge", judge,
                     "--judge-model", "judge-vl")
        assert scored.returncode == 0, scored.stdout + scored.stderr
        now = {r.task: r for r in finished_results(out)}
        assert {t: (r.verdict, r.official.verdict) for t, r in now.items()} == {
            easy.task: ("success", "success"), "0f9e8d7c6b5a49382716f5e4d3c2b1a0": ("failure", "failure"),
            "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b_1": ("unknown", "failure")}, "ours kept, theirs beside"
        command = json.loads((out / "official" / "online-mind2web" / "run" / "command.json").read_text())
        assert command[command.index("--num_worker") + 1] == "3" and "WebJudge_Online_Mind2Web_eval" in command
        [raw] = (out / "official" / "online-mind2web" / "run" / "output").iterdir()
        assert raw.name == "WebJudge_Online_Mind2Web_eval_judge-vl_score_threshold_3_auto_eval_results.json"
        assert now[easy.task].official.file == str(raw.relative_to(out))
        by_them = json.loads((out / "summary.json").read_text())["official"]
        assert by_them["judge"] == "online-mind2web WebJudge_Online_Mind2Web_eval"
        assert (by_them["agree"], by_them["both"]) == (2, 2), "our WebJudge agrees wherever both decided"
        assert "official (online-mind2web WebJudge_Online_Mind2Web_eval): pass@1 33.3%" in scored.stdout
        assert "online-mind2web WebJudge_Online_Mind2Web_eval" in (out / "report.html").read_text()

        again = cli("judge", str(out), "--judge", judge, "--judge-model", "judge-2", "--judge-method", "webvoyager")
    assert again.returncode == 0, again.stdout + again.stderr
    rescored = {r.task: r for r in finished_results(out)}
    assert rescored[easy.task].verdict == "success" and rescored[easy.task].judged_by == "webvoyager judge judge-2"
    assert [j.model for j in load_judgments(run_dir)] == ["judge-vl", "judge-2"], "the earlier verdict is kept"
    assert json.loads((out / "summary.json").read_text())["judge"]["model"] == "judge-2"
    assert rescored[easy.task].official.verdict == "success", "the official verdicts stay when ours change"


def test_webjudge_keeps_the_first_fifty_screenshots_that_score_three_or_more_as_jpeg(tmp_path, pages_url):
    """As Online-Mind2Web's WebJudge: every screenshot scoring at least 3, in the order taken, the first 50;
    each sent as a JPEG with detail high."""
    steps = ", ".join(["wait 0.01"] * 59) + ", done"
    from molmo_agent.tasks import Task

    result = run_task(Task(id="long", goal=steps, url=f"{pages_url}/clicks.html", max_steps=70), settings(tmp_path))
    trace = read_trace(result.run_dir)
    assert len(trace.steps) == 60
    scores = {f"step {i}": (5 if i % 2 else 3) for i in range(1, 61)} | {"step 7": 2, "the final page": 1}
    with judge_server({}, scores) as (judge, model):
        judgment = WebJudge(judge, "judge-vl").judge(trace)
    paths = {f"step {s.index}": s.observation.screenshot for s in trace.steps}
    assert judgment.kept_images == [paths[f"step {i}"] for i in range(1, 52) if i != 7]
    rated = [c for c in model.calls if c.images == 1]
    assert rated and all(i["url"].startswith("data:image/jpeg;base64,") and i["detail"] == "high"
                         for c in rated for i in c.image_parts)


def test_task_files_are_read_with_filters_patches_and_the_blank_start(tmp_path):
    tasks, source = load_live("webvoyager", WEBVOYAGER, start="blank", sites=["recipes"], limit=1)
    assert [(t.id, t.url, t.goal) for t in tasks] == [
        ("Recipes--0", "about:blank", "On https://www.recipes.example/: How long does the vegetarian lasagna take?")]
    assert source.tasks == 4 and tasks[0].time_limit_s == 1800 and tasks[0].step_limit_s == 120
    patches = tmp_path / "p.json"
    patches.write_text(json.dumps({"replace": {"Recipes--1": "Which soup is on?"}}))
    [patched] = load_live("webvoyager", WEBVOYAGER, start="blank", ids=["Recipes--1"], patches=patches)[0]
    assert patched.goal == "On https://www.recipes.example/: Which soup is on?"
    hard, _ = load_live("mind2web", MIND2WEB, level="hard")
    assert [t.tags for t in hard] == [["site:flights.example", "level:hard"]]
    assert hard[0].url == "https://flights.example/flights.html"


def test_odysseys_deepshop_and_webtailbench_files_are_read_as_molmoweb_reads_them(tmp_path):
    """Each benchmark's own fields, start and goal (MolmoWeb's loaders); the subset written for its judge is the
    same file format, patched, and reads back to the same tasks."""
    from molmo_agent.live.tasks import load_rows, write_subset

    [odyssey], _ = load_live("odysseys", DATA / "odysseys.json", level="medium")
    assert (odyssey.id, odyssey.url, odyssey.tags) == ("9a8b7c6d5e4f30211203f4e5d6c7b8a9", "https://www.recipes.example/",
                                                       ["site:recipes.example", "level:medium"])
    shop, source = load_live("deepshop", DATA / "deepshop.jsonl", level="easy")
    assert [(t.id, t.goal, t.url, t.tags) for t in shop] == [
        ("Shop--1", "Find a blue mug on Shop.", "https://shop.example/", ["site:Shop", "level:easy"])]
    assert source.tasks == 2
    tail, _ = load_live("webtailbench", DATA / "webtailbench.json", sites=["recipes"])
    assert [(t.id, t.url, t.goal) for t in tail] == [
        ("recipes_example_2", "about:blank", "How long does the vegetarian lasagna on recipes.example take?")]
    patches = tmp_path / "p.json"
    patches.write_text(json.dumps({"replace": {"Shop--0": "Find a green umbrella."}}))
    tasks, _, rows = load_rows("deepshop", DATA / "deepshop.jsonl", patches=patches)
    assert rows[0]["ques"] == "Find a green umbrella." and rows[0]["sort"] == "rating", "the row, patched"
    subset = write_subset("deepshop", rows[:1], tmp_path / "deepshop.jsonl")
    assert [t.goal for t in load_live("deepshop", subset)[0]] == ["Find a green umbrella."]
    for benchmark, file in [("odysseys", "odysseys.json"), ("webtailbench", "webtailbench.json")]:
        tasks, _, rows = load_rows(benchmark, DATA / file)
        assert load_live(benchmark, write_subset(benchmark, rows, tmp_path / file))[0] == tasks


@pytest.mark.parametrize("args, message", [
    (("webvoyager", MIND2WEB), "is not a webvoyager task file"),
    (("deepshop", DATA / "webtailbench.json"), "is not a deepshop task file"),
    (("webtailbench", DATA / "deepshop.jsonl"), "is not a webtailbench task file"),
    (("deepshop", DATA / "deepshop.jsonl", {"start": "blank"}), "--start is for webvoyager"),
    (("mind2web", WEBVOYAGER), "is not a mind2web task file"),
    (("webvoyager", WEBVOYAGER, {"ids": ["Nope--3"]}), "no task with id Nope--3"),
    (("webvoyager", WEBVOYAGER, {"sites": ["Atlantis"]}), "no task on site atlantis"),
    (("webvoyager", WEBVOYAGER, {"level": "easy"}), "--level is for mind2web"),
    (("webvoyager", DATA / "missing.jsonl"), "is not a file"),
])
def test_bad_task_files_and_filters_say_what_is_wrong(args, message):
    benchmark, path, *options = args
    with pytest.raises(ConfigError, match=message):
        load_live(benchmark, path, **(options[0] if options else {}))


def test_eval_refuses_bad_benchmark_options_before_any_episode(tmp_path):
    for args, message in [
        (["webvoyager"], "eval webvoyager needs the task file"),
        ([str(DATA), "--sites", "Recipes"], "are for published benchmarks"),
        (["mind2web", str(MIND2WEB), "--map-url", "recipes=local"], "must be FROM=TO with two http(s) URL"),
        (["mind2web", str(MIND2WEB), "--judge-model", "m"], "need --judge URL"),
        (["mind2web", str(MIND2WEB), "--judge", "http://127.0.0.1:9/v1"], "--judge-model is missing"),
        (["mind2web", str(MIND2WEB), "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m",
          "--judge-method", "vibes"], "--judge-method 'vibes' is not one of"),
        (["mind2web", str(MIND2WEB), "--judge-official", str(DATA)], "is neither a checkout of allenai/molmoweb"),
        (["mind2web", str(MIND2WEB), "--judge-official", str(OFFICIAL / "molmoweb")], "--official needs --judge URL"),
        (["webvoyager", str(WEBVOYAGER), "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m",
          "--judge-official", str(OFFICIAL / "online-mind2web")], "judges Online-Mind2Web runs, not webvoyager"),
        (["mind2web", str(MIND2WEB), "--judge", "http://127.0.0.1:9/v1", "--judge-model", "org/judge",
          "--judge-official", str(OFFICIAL / "online-mind2web")], "cannot hold '/'"),
        ([str(Path(__file__).parents[1] / "tasks" / "demo"), "--judge-official", str(OFFICIAL / "molmoweb")],
         "judges published benchmarks"),
    ]:
        done = cli("eval", *args, "--pointer", "dom", "--out", str(tmp_path / "out"))
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    assert not (tmp_path / "out").exists()
    done = cli("judge", str(tmp_path), "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert done.returncode == 2 and "is not an eval directory" in done.stderr


@pytest.mark.parametrize("text, verdict", [
    ("The page shows it.\nSUCCESS", "success"), ("Close, but NOT SUCCESS", "failure"),
    ("Verdict: FAILURE", "failure"), ("It was unsuccessful.", "unknown"), ("", "unknown"),
    ("**Not Success**", "failure"),
])
def test_webvoyager_verdicts(text, verdict):
    from molmo_agent.judges.webvoyager import read_verdict

    assert read_verdict(text) == verdict


def test_webjudge_reads_key_points_scores_and_status_as_the_official_judge_does():
    from molmo_agent.judges.webjudge import first_paragraph, read_key_points, read_score, read_status

    assert read_key_points("Let me think.\n**Key Points**:\n1. Sort by price\n\n  2. Pick the first") == \
        "1. Sort by price\n2. Pick the first"
    assert read_key_points("Key Points:\n1. Key point one: sort\n2. Key points matter") == \
        "1. Key point one: sort\n2. Key points matter", "only the heading is a heading"
    assert read_key_points("1. Only a list") == "1. Only a list"
    # the first digit 1-5 between the first and second "Score", that case only
    assert [read_score(t) for t in ("Score: 4", "**Score**: 5", "Score: 2 ... Score: 3", "score: 4", "no score",
                                    "Score: 9")] == [4, 5, 2, 0, 0, 0]
    assert [read_status(t) for t in ('Status: "success"', "status: failure", "**Status:** Success", "done",
                                     'Thoughts: a success.\nStatus: "failure"')] == \
        ["success", "failure", "success", "unknown", "failure"]
    assert read_status('Status: "unsuccessful"') == "unknown", "the official judge reads success here; we do not"
    assert first_paragraph("**Reasoning**: The cart shows\ntwo items.\n\nMore.\n**Score**: 4") == \
        "The cart shows two items."


def test_a_missing_or_crashed_episode_fails_and_a_judge_that_errors_leaves_it_unknown(tmp_path, demo_traces):
    """pass@1 is over every task of the file: one that never ran, or whose episode crashed before a trace, is a
    failure; a judge that cannot be reached leaves the verdict unknown, which counts as a failure too."""
    import shutil

    from molmo_agent.evaluate import EpisodeResult
    from molmo_agent.judges import make_judge
    from molmo_agent.live.scoring import judged, pass_at_k

    shutil.copytree(demo_traces["a1"], tmp_path / "traces" / "a1")
    ran = EpisodeResult(task="ran", success=True, reward=1.0, steps=14, trace="traces/a1", tags=["site:Demo"])
    crashed = EpisodeResult(task="crashed", success=False, reward=0.0, reason="Chromium crashed", tags=["site:Demo"])
    unreachable = make_judge("webvoyager", "http://127.0.0.1:9/v1", "judge-vl")
    verdicts = [judged(r, tmp_path, unreachable) for r in (ran, crashed)]
    assert [(v.verdict, v.success, v.reward) for v in verdicts] == [("unknown", False, 0.0)] * 2
    assert verdicts[0].agent_success is True, "what the agent concluded is kept beside the verdict"
    [judgment] = load_judgments(tmp_path / "traces" / "a1")
    assert judgment.verdict == "unknown" and "127.0.0.1:9" in judgment.calls[0].error, "the failed call is recorded"
    assert verdicts[1].judged_by is None, "an episode that never ran is not judged"
    expected = {"ran": ["site:Demo"], "crashed": ["site:Demo"], "missing": ["site:Demo"]}
    assert pass_at_k([ran, crashed], expected, 1)["overall"] == {"tasks": 3, "episodes": 2, "pass@1": round(1 / 3, 4)}
    assert pass_at_k(verdicts, expected, 1)["by_site"]["Demo"]["pass@1"] == 0.0


def _eval_dir(tmp_path, demo_traces, benchmark: str = "mind2web"):
    """A finished eval of one episode (the demo, recorded), as `judge` reads one."""
    import shutil

    from molmo_agent.evaluate import EpisodeResult

    out = tmp_path / "eval"
    shutil.copytree(demo_traces["a1"], out / "traces" / "a1")
    result = EpisodeResult(task="demo", success=True, reward=1.0, steps=14, trace="traces/a1", tags=["site:Demo"])
    (out / "results.jsonl").write_text(result.model_dump_json() + "\n")
    source = {"benchmark": benchmark, "file": "tasks.json", "sha256": "0" * 64}
    (out / "summary.json").write_text(json.dumps({"source": source,
                                                  "expected": {"demo": ["site:Demo"]}, "episodes_per_task": 1}))
    return out


def test_a_reasoning_judge_is_asked_with_max_completion_tokens_and_its_own_temperature(tmp_path, demo_traces):
    out = _eval_dir(tmp_path, demo_traces)
    with judge_server({"": "success"}, reasoning=True) as (judge, model):
        done = cli("judge", str(out), "--judge", judge, "--judge-model", "o4-mini")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "o4-mini refuses max_tokens or temperature (a reasoning model)" in done.stdout
    assert done.stdout.count("refuses max_tokens") == 1, "said once"
    [result] = finished_results(out)
    assert result.verdict == "success"
    refused, *asked = model.bodies
    assert "max_tokens" in refused and asked, "refused once, then asked again"
    assert all("max_completion_tokens" in b and "max_tokens" not in b and "temperature" not in b for b in asked)


def test_a_judge_that_gives_no_verdict_at_all_fails_the_command_in_one_line(tmp_path, demo_traces):
    out = _eval_dir(tmp_path, demo_traces)
    with judge_server({"": "garbled"}) as (judge, _):
        done = cli("judge", str(out), "--judge", judge, "--judge-model", "judge-vl")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "the judge gave no verdict for any of 1 episodes" in done.stderr
    assert [r.verdict for r in finished_results(out)] == ["unknown"], "the verdicts are kept all the same"


def test_a_person_overrules_a_verdict_beside_the_judges_and_it_counts(tmp_path, demo_traces):
    out = _eval_dir(tmp_path, demo_traces)
    with judge_server({"": "success"}) as (judge, _):
        done = cli("judge", str(out), "--judge", judge, "--judge-model", "judge-vl", "--set", "demo=failure",
                   "--why", "booked for the wrong day <b>", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [result] = finished_results(out)
    assert result.verdict == "failure" and not result.success and result.judged_by == "a person: booked for the wrong day <b>"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scores"]["overall"]["pass@1"] == 0.0
    assert summary["overruled"] == {"demo": {"verdict": "failure", "why": "booked for the wrong day <b>"}}
    judgments = load_judgments(out / result.trace)
    assert [(j.method, j.verdict) for j in judgments] == [("webjudge", "success"), ("person", "failure")], "both kept"
    report = (out / "report.html").read_text()
    assert "booked for the wrong day &lt;b&gt;" in report

    again = cli("judge", str(out), "--set", "demo=success", "--why", "checked by hand")  # no judge needed
    assert again.returncode == 0, again.stdout + again.stderr
    assert finished_results(out)[0].success and len(load_judgments(out / result.trace)) == 3
    with judge_server({"": "failure"}) as (judge, _):
        rejudged = cli("judge", str(out), "--judge", judge, "--judge-model", "judge-2", timeout=300)
    assert rejudged.returncode == 0, rejudged.stdout + rejudged.stderr
    [now] = finished_results(out)
    assert now.success and now.judged_by == "a person: checked by hand", "a person's verdict stands over a re-judging"
    assert [j.verdict for j in load_judgments(out / result.trace)][-2:] == ["failure", "success"]


@pytest.mark.parametrize("args, message", [
    (["--set", "demo=failure"], "--set needs --why"),
    (["--set", "nope=failure", "--why", "x"], "no episode of 'nope'"),
    (["--set", "demo=maybe", "--why", "x"], "must be TASK=success or TASK=failure"),
    (["--why", "x"], "--why is the reason for --set"),
])
def test_overrules_that_cannot_be_applied_say_why(tmp_path, demo_traces, args, message):
    out = _eval_dir(tmp_path, demo_traces)
    done = cli("judge", str(out), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_failure_reason_is_never_shown_to_a_judge_as_the_agents_answer(tmp_path, pages_url):
    from molmo_agent.judges.evidence import evidence
    from molmo_agent.tasks import Task

    result = run_task(Task(id="lost", goal='click "Nowhere at all"', url=f"{pages_url}clicks.html"), settings(tmp_path))
    assert result.status == "failed" and "Nowhere at all" in result.end.reason
    seen = evidence(read_trace(result.run_dir), site_prefix=True)
    assert seen.response == "" and all("not found" not in a for a in seen.actions)


def test_a_task_that_never_ran_gets_an_empty_folder_the_official_script_counts(tmp_path):
    from molmo_agent.live.mind2web import write_empty

    folder = write_empty(tmp_path, "t1", "Find a thing")
    assert json.loads((folder / "result.json").read_text()) == {
        "task_id": "t1", "task": "Find a thing", "final_result_response": "", "action_history": [], "thoughts": []}
    assert (folder / "trajectory").is_dir() and not list((folder / "trajectory").iterdir())
    (folder / "result.json").write_text('{"ran": true}')
    write_empty(tmp_path, "t1", "Find a thing")
    assert json.loads((folder / "result.json").read_text()) == {"ran": True}, "a folder an episode wrote is kept"
