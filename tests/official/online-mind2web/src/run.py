"""Stand-in for Online-Mind2Web's src/run.py in WebJudge mode (see ../../README.md)."""

import argparse
import json
import os
import re
import urllib.request


def ask(model: str, api_key: str, task: str, actions: list[str], images: int) -> str:
    history = "\n".join(f"{n}. {a}" for n, a in enumerate(actions, 1))
    body = {"model": model, "messages": [
        {"role": "system", "content": "stand-in webjudge"},
        {"role": "user", "content": [{"type": "text", "text": f"Task: {task}\nActions:\n{history}\n"
                                                              f"Screenshots: {images}"}]}]}
    request = urllib.request.Request(os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
                                     data=json.dumps(body).encode(), method="POST", headers={
                                         "Content-Type": "application/json", "Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["choices"][0]["message"]["content"]


def main(args) -> None:
    if args.mode != "WebJudge_Online_Mind2Web_eval":
        raise SystemExit(f"Unknown mode: {args.mode}")
    tasks = sorted(d for d in os.listdir(args.trajectories_dir)
                   if os.path.isdir(os.path.join(args.trajectories_dir, d)))
    chunk = len(tasks) // args.num_worker
    chunks = [tasks[i:i + chunk] for i in range(0, len(tasks), chunk)]  # as theirs: 0 raises
    output = os.path.join(args.output_path,
                          f"{args.mode}_{args.model}_score_threshold_{args.score_threshold}_auto_eval_results.json")
    labels = []
    for task_id in [t for c in chunks for t in c]:
        folder = os.path.join(args.trajectories_dir, task_id)
        with open(os.path.join(folder, "result.json")) as f:
            result = json.load(f)
        images = sorted(os.listdir(os.path.join(folder, "trajectory")), key=lambda x: int(re.findall(r"\d+", x)[0]))
        said = ask(args.model, args.api_key, result["task"], result["action_history"], len(images))
        try:
            label = 1 if "success" in said.lower().split("status:")[1] else 0
        except IndexError:
            label = 0
        labels.append(label)
        os.makedirs(args.output_path, exist_ok=True)
        with open(output, "a+") as out:
            out.write(json.dumps({"task_id": task_id, "response": said, "predicted_label": label}) + "\n")
    print(f"The success rate is {sum(labels) / len(tasks) * 100}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="Online_Mind2Web_eval")
    parser.add_argument("--model", default="gpt-4o")
    parser.add_argument("--trajectories_dir", required=True)
    parser.add_argument("--api_key", required=True)
    parser.add_argument("--output_path", required=True)
    parser.add_argument("--score_threshold", type=int, default=3)
    parser.add_argument("--num_worker", type=int, default=60)
    main(parser.parse_args())
