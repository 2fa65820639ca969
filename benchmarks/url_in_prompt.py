"""How much a trained policy's answers depend on the page URL in its prompt (issue 21's cause, shown).

Asks a model trained on recordings at one fixed address (`run --site-url`) each of its training rows again,
with that address replaced by loopback ports as runs on a task's own site saw them before `--site-url`, and
prints how many greedy answers differ from the recorded ones:

    python benchmarks/url_in_prompt.py MODEL_DIR EXPORTS_DIR   # EXPORTS_DIR holds web/ and plans/ exports
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from molmo_agent.models.loading import MolmoModel

FIXED = "http://demo.test/"
PORTS = ("http://127.0.0.1:37170/", "http://127.0.0.1:60536/", "http://127.0.0.1:42535/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("exports", type=Path)
    parser.add_argument("--address", default=FIXED, help="the address the recordings were made at")
    args = parser.parse_args()
    model = MolmoModel(args.model)
    for name in ("web", "plans"):
        folder = args.exports / name / "train"
        rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
        images = [Image.open(folder / r["file_name"]).convert("RGB") for r in rows]
        for url in (args.address, *PORTS):
            prompts = [r["prompt"].replace(args.address, url) for r in rows]
            answers = [a for i in range(0, len(rows), 8)
                       for a in model.generate(images[i:i + 8], prompts[i:i + 8], max_new_tokens=96)]
            changed = sum(a != r["answer"] for a, r in zip(answers, rows))
            print(f"{name}: page URL {url}: {changed} of {len(rows)} answers differ from the recorded ones")


if __name__ == "__main__":
    main()
