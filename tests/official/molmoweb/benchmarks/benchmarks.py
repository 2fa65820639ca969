"""Stand-in for MolmoWeb's benchmark judge command (see ../../README.md)."""

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

JUDGE_MODELS = {"webvoyager": "gpt-4o", "deepshop_judge": "gpt-4o", "webjudge_online_mind2web": "o4-mini",
                "odysseys_rubric": "gemini"}


def samples(benchmark: str, path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" \
        else json.loads(text)
    if benchmark == "webvoyager":
        return [{"id": r["id"], "prompt": f"On {r['web']}: {r['ques']}"} for r in rows]
    if benchmark in ("online_mind2web", "odysseys"):
        return [{"id": r["task_id"], "prompt": r["confirmed_task"]} for r in rows]
    if benchmark == "deepshop":
        return [{"id": r["id"], "prompt": r["ques"]} for r in rows]
    if benchmark == "webtailbench":
        return [{"id": f"{r['benchmark']}_{r['id']}", "prompt": r["task_summary"]} for r in rows]
    raise SystemExit(f"unknown benchmark {benchmark}")


def final_answer(steps: dict) -> str:
    answer = message = thought = None
    for step in steps.values():
        output = step["action"]["action_output"]
        action = output["action"]
        if action is not None and "msg" in action:
            if "[ANSWER]" in action["msg"]:
                answer = action["msg"][9:]
            elif "[EXIT]" not in action["msg"]:
                message = action["msg"]
        thought = output.get("thought") or thought
    return answer or message or thought or "No answer"


def ask(model: str, task: str, answer: str, images: int) -> str:
    body = {"model": model, "messages": [
        {"role": "system", "content": "stand-in webvoyager"},
        {"role": "user", "content": [{"type": "text", "text": f"Task: {task}\nFinal response: {answer}\n"
                                                              f"Screenshots: {images}"}]}]}
    request = urllib.request.Request(os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
                                     data=json.dumps(body).encode(), method="POST", headers={
                                         "Content-Type": "application/json",
                                         "Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["choices"][0]["message"]["content"]


def judge(args) -> None:
    counts = {"SUCCESS": 0, "FAILURE": 0, "MISSING": 0}
    for sample in samples(args.benchmark, Path(args.data_path)):
        folder = Path(args.results_dir) / sample["id"]
        if not folder.is_dir():
            counts["MISSING"] += 1
            continue
        steps = json.loads((folder / "trajectory.json").read_text(encoding="utf-8"))
        for step in steps.values():
            assert (folder / "images" / step["screenshot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        said = ask(JUDGE_MODELS[args.judge_type], sample["prompt"], final_answer(steps), len(steps))
        verdict = "SUCCESS" if said.strip().endswith("SUCCESS") and "NOT SUCCESS" not in said else "FAILURE"
        (folder / f"{args.judge_type}_verdict.json").write_text(json.dumps({"thought": said, "verdict": verdict}))
        counts[verdict] += 1
    print(f"SUCCESS: {counts['SUCCESS']}  FAILURE: {counts['FAILURE']}  MISSING: {counts['MISSING']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["judge"])
    for flag in ("--benchmark", "--results_dir", "--data_path", "--judge_type"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--num_workers", type=int, default=30)
    judge(parser.parse_args(sys.argv[1:]))
