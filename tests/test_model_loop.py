"""The model path with a real (tiny) Molmo2: loading, serving, exporting, training, and the loop closing."""

import base64
import contextlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from molmo_agent.errors import ConfigError
from molmo_agent.sites import DEMO_SITE
from molmo_agent.tasks import load_task

from .conftest import cli, requires_ml, run_task, settings

requires_ml()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from molmo_agent.models.random import build_tiny_molmo2

    return build_tiny_molmo2(tmp_path_factory.mktemp("models") / "molmo2-tiny")


@contextlib.contextmanager
def served(model_dir, **options):
    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.serve import ModelServer

    model = MolmoModel(str(model_dir))
    server = ModelServer(model, name=Path(model_dir).name, port=0, **options)
    try:
        yield server.start(), model
    finally:
        server.stop()


def _png_url(size=(320, 180), colour="white") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _chat(url: str, text: str = "Point to the button.", **extra) -> dict:
    content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": text}]
    return {"model": "m", "messages": [{"role": "user", "content": content}], "max_tokens": 12, **extra}


def _pointing_rows(data, count: int) -> list[dict]:
    """`count` training examples of the trained pointing model, each with a different target."""
    rows, targets = [], set()
    for line in (data / "train" / "metadata.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["target"] not in targets:
            targets.add(row["target"])
            rows.append({**row, "image": Image.open(data / "train" / row["file_name"]).convert("RGB")})
    return rows[:count]


def test_each_caller_of_a_shared_model_gets_its_own_answer(pointing_model):
    """Eval workers share one model: requests that wait together are one batch, and no answer goes astray.
    The trained pointing model answers each target differently, so a swap would show."""
    from molmo_agent.models.loading import MolmoModel, rgb

    result, data, _ = pointing_model
    model = MolmoModel(str(result.out))
    assert model.device == "cpu"
    rows = _pointing_rows(data, 6)
    alone = [model.generate([r["image"]], [r["prompt"]], max_new_tokens=24)[0] for r in rows]
    assert len(set(alone)) >= 5, f"different targets, different points: {alone}"
    with ThreadPoolExecutor(len(rows)) as pool:
        together = list(pool.map(lambda r: model.generate([r["image"]], [r["prompt"]], max_new_tokens=24)[0], rows))
    assert together == alone, "each caller gets its own answer"
    assert max(model.batcher.batches) > 1, "callers waiting together share a batch"

    rgba = rows[0]["image"].convert("RGBA")
    rgba.putalpha(128)
    flattened = rgb(rgba)
    assert flattened.mode == "RGB" and flattened.getpixel((0, 0)) == tuple(
        round((c * 128 + 255 * 127) / 255) for c in rows[0]["image"].getpixel((0, 0))[:3]), "composited onto white"
    assert model.generate([rgba], [rows[0]["prompt"]], max_new_tokens=24) == \
        model.generate([flattened], [rows[0]["prompt"]], max_new_tokens=24)


def test_the_gpu_fast_path_answers_as_the_plain_one(pointing_model):
    """Static cache, compiled decoding and padded batches, forced on the CPU: the path must really be on after
    warm-up (no fallback), and its answers, different for different targets, must equal the plain path's."""
    import warnings

    from molmo_agent.models.loading import MolmoModel

    result, data, _ = pointing_model
    plain, fast = MolmoModel(str(result.out)), MolmoModel(str(result.out), fast=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback warns: here that fails the test
        assert not plain.fast and fast.warm_up(max_batch=4) > 0
    assert fast.fast and fast.generation_config.cache_implementation == "static"
    rows = _pointing_rows(data, 3)
    images, prompts = [r["image"] for r in rows], [r["prompt"] for r in rows]
    answers = fast.generate(images, prompts, max_new_tokens=24)
    assert len(set(answers)) == 3 and answers == plain.generate(images, prompts, max_new_tokens=24)
    assert fast.generate(images[:1], prompts[:1]) == plain.generate(images[:1], prompts[:1])


def test_molmo_v1_checkpoints_are_sent_to_vllm(tmp_path, demo_url):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "molmo", "architectures": ["MolmoForCausalLM"]}))
    from molmo_agent.models.loading import MolmoModel

    with pytest.raises(ConfigError, match="vllm serve .* --trust-remote-code"):
        MolmoModel(str(tmp_path))
    done = cli("run", 'click "Accept all"', "--url", demo_url, "--pointer", "molmo", "--model",
               "allenai/Molmo-7B-D-0924", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "run only on transformers 4.x" in done.stderr


def test_serve_answers_like_an_openai_server_and_refuses_bad_requests(tiny):
    with served(tiny, api_key="sekret", max_batch=8) as (base, model):
        auth = {"Authorization": "Bearer sekret"}
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/v1/models").status_code == 401
        assert httpx.get(f"{base}/v1/models", headers=auth).json()["data"][0]["id"] == "molmo2-tiny"
        post = lambda body, **kw: httpx.post(f"{base}/v1/chat/completions", headers=auth, timeout=60, **kw)
        assert httpx.post(f"{base}/v1/chat/completions", json=_chat(_png_url())).status_code == 401
        assert post(None, content=b"{not json").status_code == 400
        assert "exactly one image_url" in post(None, json={"messages": [{"role": "user", "content": "hi"}]}).text
        assert post(None, json=_chat("data:image/png;base64,AAAA")).status_code == 400
        assert post(None, json=_chat(_png_url(size=(5000, 5000)))).status_code == 413
        assert post(None, content=b"x" * (21 * 1024 * 1024)).status_code == 413
        assert post(None, json=_chat(_png_url(), max_tokens=10**6)).status_code == 400
        bodies = [_chat(_png_url(colour=c)) for c in ["white", "red", "blue", "green"] * 2]
        bodies.insert(3, {"messages": "garbage"})
        with ThreadPoolExecutor(len(bodies)) as pool:
            responses = list(pool.map(lambda b: post(None, json=b), bodies))
        assert [r.status_code for r in responses] == [200, 200, 200, 400, 200, 200, 200, 200, 200]
        answer = responses[0].json()["choices"][0]["message"]
        assert answer["role"] == "assistant" and isinstance(answer["content"], str)
        assert max(model.batcher.batches) > 1, "concurrent requests share a batch"

        predict = lambda body, **kw: httpx.post(f"{base}/predict", timeout=60, json=body, **kw)
        image_b64 = _png_url().split(",", 1)[1]
        asked = {"prompt": "molmo_web_think: \n# GOAL\nBook\n", "image_base64": image_b64, "past_actions": [],
                 "temperature": 0.0, "top_p": 0.8}
        assert predict(asked).status_code == 401, "the key guards MolmoWeb's API too"
        answered = predict(asked, headers=auth)
        assert answered.status_code == 200 and isinstance(answered.json(), str)
        assert predict(asked, headers=auth).json() == answered.json(), "temperature 0 is greedy"
        assert predict({**asked, "image_base64": "%%%"}, headers=auth).status_code == 400
        assert "prompt" in predict({**asked, "prompt": ""}, headers=auth).text
        assert predict({**asked, "top_p": 7}, headers=auth).status_code == 400


def test_training_resumes_from_its_last_checkpoint_and_lora_leaves_the_vision_tower(tmp_path, tiny, demo_traces):
    import torch
    from transformers import AutoModelForImageTextToText

    from molmo_agent.sft.export import export
    from molmo_agent.sft.train import TrainConfig, train

    export([demo_traces["a1"]], tmp_path / "data", test_fraction=0)
    config = TrainConfig(steps=8, batch_size=2, save_every=4, lr=1e-3)

    def stop_after_6(step, loss):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "data", tiny, tmp_path / "out", config, on_step=stop_after_6)
    assert (tmp_path / "out" / "checkpoint-4").is_dir()
    seen = []
    train(tmp_path / "data", tiny, tmp_path / "out", config, resume=True, on_step=lambda s, loss: seen.append(s))
    assert seen == [5, 6, 7, 8]
    result = train(tmp_path / "data", tiny, tmp_path / "lora", TrainConfig(steps=3, batch_size=2, lora=True, lr=1e-2))
    base = AutoModelForImageTextToText.from_pretrained(str(tiny)).state_dict()
    tuned = AutoModelForImageTextToText.from_pretrained(str(result.out)).state_dict()
    vision = [k for k in base if "vision_tower" in k]
    assert vision and all(torch.equal(base[k], tuned[k]) for k in vision)
    assert any(not torch.equal(base[k], tuned[k]) for k in base if "language_model.layers.0.self_attn.q_proj" in k)


def test_torchrun_trains_one_model_data_parallel_and_writes_one_folder(tmp_path, tiny, demo_traces):
    """`torchrun --standalone --nproc-per-node 2` on the CPU (gloo): the two processes train as one (their
    weights agree at the end), the loss goes down, only the main process speaks and writes, and the folder
    loads as a pointer model. FSDP over the same two processes follows the same losses as DDP."""
    import subprocess
    import sys

    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.sft.export import export

    export([demo_traces["a1"]], tmp_path / "data", test_fraction=0)

    def torchrun(out: Path, *extra: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                               "-m", "molmo_agent.cli", "train", str(tmp_path / "data"), "--base", str(tiny),
                               "--out", str(out), "--steps", "10", "--batch-size", "2", "--lr", "1e-3",
                               "--save-every", "4", "--device", "cpu", *extra],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        assert done.stdout.count("data-parallel over 2 processes") == 1, done.stdout
        assert done.stdout.count("trained 10 steps") == 1, done.stdout
        assert not list(out.glob("checkpoint-*")), "checkpoints go once the model is written"
        return json.loads((out / "training.json").read_text())

    ddp = torchrun(tmp_path / "ddp")
    assert ddp["processes"] == 2 and len(ddp["replica_fingerprints"]) == 2 and ddp["replicas_agree"] is True
    losses = [loss for _, loss in ddp["losses"]]
    assert len(losses) == 10 and sum(losses[-3:]) < sum(losses[:3]) - 0.3, losses
    answer = MolmoModel(str(tmp_path / "ddp")).generate([Image.new("RGB", (320, 180))], ["Point to the button."])
    assert isinstance(answer[0], str)
    fsdp = torchrun(tmp_path / "fsdp", "--fsdp")
    assert [loss for _, loss in fsdp["losses"]] == pytest.approx(losses, rel=1e-3)


@pytest.fixture(scope="module")
def pointing_model(tmp_path_factory, tiny, demo_traces):
    """A tiny Molmo2 trained from random weights to point, on the demo recorded on two layouts at two scale
    factors; the screenshots at scale 1.5 are held out, and so (in a second export) is a third layout.
    Returns (training result, dataset folder, the moved layout's dataset folder)."""
    from molmo_agent.sft.export import export
    from molmo_agent.sft.train import TrainConfig, train

    tmp = tmp_path_factory.mktemp("pointing")
    train_runs = [demo_traces[k] for k in ("a1", "a2", "b1", "b2")]
    export(train_runs, tmp / "data", holdout=[demo_traces["a15"], demo_traces["b15"]], test_fraction=0)
    export(train_runs, tmp / "moved", holdout=[demo_traces["c1"]], test_fraction=0)  # new screens only in test/
    config = TrainConfig(steps=600, batch_size=8, lr=3e-3, lr_vision=3e-3, lr_connector=3e-3, warmup_steps=20)
    return train(tmp / "data", tiny, tmp / "molmo2-demo", config), tmp / "data", tmp / "moved"


def test_the_loop_closes(tmp_path, pointing_model, capsys):
    """Record with the dom pointer on two layouts, export, train a tiny Molmo2 from random weights on the CPU,
    then point with it: in-process, and through serve with the http pointer. The demo task must succeed,
    and the points on held-out screenshots of both layouts must land in their targets."""
    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.pointers.http import HttpPointer
    from molmo_agent.pointers.molmo import MolmoPointer
    from molmo_agent.sft.score import hit_rate

    result, data, moved = pointing_model
    model = MolmoModel(str(result.out))
    held_out, unseen = hit_rate(model, data), hit_rate(model, moved)
    with capsys.disabled():
        print(f"\ntrained {result.steps} steps ({result.seconds:.0f}s, {result.examples_per_second:.0f} examples/s); "
              f"hit rate on held-out screenshots of the trained layouts {held_out.hits}/{held_out.examples}, "
              f"on a layout never trained on {unseen.hits}/{unseen.examples}")
    assert unseen.examples >= 4, "the moved layout's screens are new"
    held_out_examples = len((data / "test" / "metadata.jsonl").read_text().splitlines())
    assert held_out.examples == held_out_examples > 12 and held_out.rate >= 0.9

    task = load_task(DEMO_SITE.parent / "task.yaml")
    in_process = run_task(task, settings(tmp_path / "runs"), pointer=MolmoPointer(str(result.out)))
    assert in_process.status == "success", in_process.end.reason
    with served(result.out) as (base, _):
        pointer = HttpPointer(f"{base}/v1", "molmo2-demo", timeout_s=60)
        over_http = run_task(task, settings(tmp_path / "runs-http"), pointer=pointer)
    assert over_http.status == "success", over_http.end.reason


def test_model_policies_decide_the_demo_after_training_on_exported_steps(tmp_path, tiny, demo_traces, pointing_model):
    """The loop for whole steps: export the demo's steps in MolmoWeb's protocol and as planner steps, train one
    tiny model on both, and let it decide every step of the demo task: as the molmoweb policy in this
    process, through serve's OpenAI API and through serve's MolmoWeb API (/predict), and as the planner through
    serve with the trained Molmo2 pointer, served too (the `run "book a flight" --url` set-up, no DOM anywhere).
    Greedy (--temperature 0): a tiny model is not sure enough of itself to sample. Three earlier steps in the
    prompt (MolmoWeb's agent class default; its client uses 10): ten are more than a model this small reads
    reliably after a few minutes of training on the CPU."""
    from molmo_agent.models.sampling import Sampling
    from molmo_agent.run import PointerSettings
    from molmo_agent.sft.export import export
    from molmo_agent.sft.train import TrainConfig, train
    from molmo_agent.trace import read_trace

    recorded = [demo_traces[k] for k in ("a1", "a2", "b1", "b2")]
    export(recorded, tmp_path / "web", format="molmoweb", test_fraction=0, history=3)
    export(recorded, tmp_path / "plans", format="planner", test_fraction=0)
    plans = [json.loads(line) for line in (tmp_path / "plans" / "train" / "metadata.jsonl").read_text().splitlines()]
    assert [p["answer"] for p in plans[:3]] == ['click "Accept all"', 'click "Round trip"', 'type "SFO" into "From"']
    assert '2. click "Round trip"\n\nCURRENT PAGE: ' in plans[2]["prompt"]
    config = TrainConfig(steps=800, batch_size=8, lr=3e-3, lr_vision=3e-3, lr_connector=3e-3)
    result = train([tmp_path / "web", tmp_path / "plans"], tiny, tmp_path / "policy-demo", config)

    task_file = str(DEMO_SITE.parent / "task.yaml")
    greedy = ["--temperature", "0", "--history", "3"]
    done = cli("run", "--task", task_file, "--policy", "molmoweb", "--model", str(result.out), "--pointer", "dom",
               "--out", str(tmp_path / "runs"), *greedy, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success after 20 steps" in done.stdout, "14 steps, six of them typing: a click, then keyboard_type"
    web = {}
    with served(result.out) as (base, _), served(pointing_model[0].out) as (pointer_base, _):
        planned = cli("run", "--task", task_file, "--policy", "planner", "--planner", f"{base}/v1",
                      "--planner-model", "policy-demo", "--pointer", "http", "--endpoint", f"{pointer_base}/v1",
                      "--model", "molmo2-demo", "--out", str(tmp_path / "planned"), *greedy, timeout=600)
        for api, endpoint in (("openai", f"{base}/v1"), ("molmoweb", base)):
            over_http = settings(tmp_path / f"web-{api}")
            over_http.policy, over_http.sampling, over_http.history = "molmoweb", Sampling(temperature=0), 3
            over_http.pointer = PointerSettings(name="dom", endpoint=endpoint, model="policy-demo", api=api)
            web[api] = run_task(load_task(task_file), over_http)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "success after 14 steps" in planned.stdout
    [run_dir] = (tmp_path / "planned").iterdir()
    trace = read_trace(run_dir)
    assert trace.header.policy == "planner" and trace.header.policy_model == {"endpoint": f"{base}/v1",
                                                                               "model": "policy-demo", "api": "openai"}
    typed = trace.steps[2]
    assert typed.policy_raw == 'type "SFO" into "From"' and typed.grounding[0].target == "From"
    assert typed.grounding[0].raw.startswith('<points coords="1 1 '), "the served Molmo2 pointed"
    for api, result in web.items():
        assert result.status == "success", f"{api}: {result.end.reason}"
        assert read_trace(result.run_dir).header.policy_model["api"] == api
