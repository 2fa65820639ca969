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

from .conftest import DEMO_ADDRESS, cli, requires_ml, run_task, settings, train_until_reproduced

requires_ml()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from molmo_agent.models.random import build_tiny_molmo2

    return build_tiny_molmo2(tmp_path_factory.mktemp("models") / "molmo2-tiny")


@contextlib.contextmanager
def served(model_dir, **options):
    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.serve import ModelServer

    with MolmoModel(str(model_dir)) as model:  # closed after: its thread would slow the next training
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
    """`count` pointing examples the model was trained on, each with a different target."""
    rows, targets = [], set()
    for line in (data / "train" / "metadata.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["target"] not in targets:
            targets.add(row["target"])
            rows.append({**row, "image": Image.open(data / "train" / row["file_name"]).convert("RGB")})
    return rows[:count]


def test_each_caller_of_a_shared_model_gets_its_own_answer(trained):
    """Eval workers share one model: requests that wait together are one batch, and no answer goes astray.
    The trained pointing model answers each target differently, so a swap would show."""
    from molmo_agent.models.loading import MolmoModel

    rows = _pointing_rows(trained.exports["points"], 6)
    with MolmoModel(str(trained.out)) as model, ThreadPoolExecutor(len(rows)) as pool:
        assert model.device == "cpu"
        alone = [model.generate([r["image"]], [r["prompt"]], max_new_tokens=24)[0] for r in rows]
        together = list(pool.map(lambda r: model.generate([r["image"]], [r["prompt"]], max_new_tokens=24)[0], rows))
    assert len(set(alone)) >= 5, f"different targets, different points: {alone}"
    assert together == alone, "each caller gets its own answer"
    assert max(model.batcher.batches) > 1, "callers waiting together share a batch"



def test_the_gpu_fast_path_answers_as_the_plain_one(trained):
    """Static cache, compiled decoding and padded batches, forced on the CPU: the path must really be on after
    warm-up (no fallback), and its answers, different for different targets, must equal the plain path's."""
    import warnings

    from molmo_agent.models.loading import MolmoModel

    rows = _pointing_rows(trained.exports["points"], 3)
    images, prompts = [r["image"] for r in rows], [r["prompt"] for r in rows]
    with MolmoModel(str(trained.out)) as plain, MolmoModel(str(trained.out), fast=True) as fast:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the fallback warns: here that fails the test
            assert not plain.fast and fast.warm_up(max_batch=4) > 0
        assert fast.fast and fast.generation_config.cache_implementation == "static"
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
        json_type = {**auth, "Content-Type": "application/json"}
        assert httpx.post(f"{base}/v1/chat/completions", headers=json_type, content=b"{not json").status_code == 400
        # What a web page can send to another origin without asking (text/plain, a form) is refused, and so is a
        # Host that is not this server's (a page on a rebound DNS name).
        plain = httpx.post(f"{base}/v1/chat/completions", headers=auth, content=json.dumps(_chat(_png_url())),
                           timeout=60)
        assert plain.status_code == 415 and "send application/json" in plain.text
        assert httpx.post(f"{base}/predict", data={"prompt": "x"}, headers=auth).status_code == 415
        rebound = httpx.get(f"{base}/health", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 421 and "--allow-host attacker.example" in rebound.text
        assert httpx.get(f"{base}/health", headers={"Host": f"localhost:{base.rsplit(':', 1)[1]}"}).status_code == 200
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
        # Its answers are compared with the model's own, row for row, in test_served_answers_equal_...
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
    with MolmoModel(str(tmp_path / "ddp")) as model:
        answer = model.generate([Image.new("RGB", (320, 180))], ["Point to the button."])
    assert isinstance(answer[0], str)
    fsdp = torchrun(tmp_path / "fsdp", "--fsdp")
    assert [loss for _, loss in fsdp["losses"]] == pytest.approx(losses, rel=1e-3)


class Trained:
    """A tiny Molmo2 trained on the demo's recordings: where it is, what it was trained (and tested) on."""

    def __init__(self, out: Path, exports: dict[str, Path], steps: int, seconds: float) -> None:
        self.out, self.exports, self.steps, self.seconds = out, exports, steps, seconds


@pytest.fixture(scope="module")
def exports(tmp_path_factory, demo_traces) -> dict[str, Path]:
    """The demo recorded at one fixed address on two layouts at two scale factors, exported three ways: pointing
    (held out: the screenshots at scale 1.5; in `moved`, a third layout), MolmoWeb's protocol (three earlier
    steps in each prompt, MolmoWeb's agent class default) and planner steps."""
    from molmo_agent.sft.export import export

    tmp = tmp_path_factory.mktemp("exports")
    recorded = [demo_traces[k] for k in ("a1", "a2", "b1", "b2")]
    found = {name: tmp / name for name in ("points", "moved", "web", "plans")}
    export(recorded, found["points"], holdout=[demo_traces["a15"], demo_traces["b15"]], test_fraction=0)
    export(recorded, found["moved"], holdout=[demo_traces["c1"]], test_fraction=0)  # new screens only in test/
    export(recorded, found["web"], format="molmoweb", test_fraction=0, history=3)
    export(recorded, found["plans"], format="planner", test_fraction=0)
    return found


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny, exports) -> Trained:
    """The pointing model: the tiny Molmo2 from random weights, trained on the pointing rows alone (short rows
    are not padded to the length of a planner's prompt) until the loop is closed."""
    out, steps, seconds = train_until_reproduced(tiny, [exports["points"]], tmp_path_factory.mktemp("pointer"), 300)
    return Trained(out, exports, steps, seconds)


@pytest.fixture(scope="module")
def policy(tmp_path_factory, tiny, exports) -> Trained:
    """The policy model: the tiny Molmo2 trained on the MolmoWeb and planner rows together until the loop is
    closed."""
    out, steps, seconds = train_until_reproduced(tiny, [exports["web"], exports["plans"]],
                                                  tmp_path_factory.mktemp("policy"), 250)
    return Trained(out, exports, steps, seconds)


def test_a_batch_of_examples_processed_once_equals_the_processors_own_batch(tiny, exports):
    """Training processes each screenshot once and joins examples into batches: the join (padding, image-token
    pooling offset by the patches before) must give the tensors the processor gives for the batch as a whole."""
    import torch

    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.sft import train as training

    rows = training._load_rows([exports["points"], exports["web"], exports["plans"]])
    _, processor = training._load(tiny, torch.float32)
    examples = [training._encode(processor, MolmoModel.prompt_with(processor), row) for row in rows[::9]]
    collate = training._Collator(processor)
    for batch in (examples[:8], examples[-8:], examples[::2][:5]):
        joined = collate(batch)
        whole = collate([{k: v for k, v in e.items() if k != "inputs"} for e in batch])  # the processor's batch
        assert joined.keys() == whole.keys() and all(torch.equal(joined[k], whole[k]) for k in whole)
    assert len({e["inputs"]["input_ids"].shape[1] for e in examples}) > 1, "rows of different lengths were padded"


def test_a_molmoweb_step_reaches_the_model_as_molmowebs_own_backend_gives_it(tiny, exports):
    """Their HF backend (allenai/molmoweb `agent/model_backends.py`; shared/facts/molmoweb-protocol.md): one user
    message, the text then the image, the processor's chat template applied, and the processor asked for no
    `mm_token_type_ids`: MolmoWeb was trained with causal attention over the image's tokens. Token ids, attention
    mask, pixel values and the image's pooling are ours byte for byte. A Molmo2 pointing prompt keeps Molmo2's
    bidirectional attention over the image."""
    import torch

    from molmo_agent.models.loading import MolmoModel

    row = _rows(exports["web"])[4]
    image = Image.open(exports["web"] / "train" / row["file_name"]).convert("RGB")
    with MolmoModel(str(tiny)) as model:
        ours = model.inputs([image], [row["prompt"]])
        processor = model.processor
        messages = [{"role": "user", "content": [{"type": "text", "text": row["prompt"]}, {"type": "image", "image": image}]}]
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        theirs = processor(images=[image], text=text, padding=True, return_tensors="pt", return_mm_token_type_ids=False)
        pointing = model.inputs([image], ["Point to the From\nPlease say 'There are none.' if it is not in the image."])
    assert row["prompt"].startswith("molmo_web_think: ") and set(ours) == set(theirs)
    assert "mm_token_type_ids" not in ours and {"input_ids", "attention_mask", "pixel_values"} <= set(ours)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    assert "mm_token_type_ids" in pointing and pointing["mm_token_type_ids"].sum() > 0


def test_a_transparent_screenshot_is_composited_onto_white():
    from molmo_agent.models.loading import rgb

    rgba = Image.new("RGBA", (4, 2), (200, 40, 0, 128))
    flattened = rgb(rgba)
    assert flattened.mode == "RGB" and flattened.size == (4, 2)
    assert flattened.getpixel((3, 1)) == tuple(round((c * 128 + 255 * 127) / 255) for c in (200, 40, 0))
    opaque = Image.new("RGB", (4, 2), (1, 2, 3))
    assert rgb(opaque).tobytes() == opaque.tobytes()
    assert rgb(Image.new("LA", (2, 2), (0, 0))).getpixel((0, 0)) == (255, 255, 255), "fully transparent is white"


def test_the_loop_closes(tmp_path, trained, capsys):
    """Record with the dom pointer, export, train a tiny Molmo2 from random weights on the CPU, then point with
    it: in-process, and through serve with the http pointer. The demo task must succeed, and the points on
    held-out screenshots of both layouts must land in their targets."""
    from molmo_agent.models.loading import MolmoModel, load_model
    from molmo_agent.pointers.http import HttpPointer
    from molmo_agent.pointers.molmo import MolmoPointer
    from molmo_agent.sft.score import hit_rate

    with MolmoModel(str(trained.out)) as model:
        held_out, unseen = hit_rate(model, trained.exports["points"]), hit_rate(model, trained.exports["moved"])
    with capsys.disabled():
        print(f"\ntrained {trained.steps} steps ({trained.seconds:.0f}s); hit rate on held-out screenshots of the "
              f"trained layouts {held_out.hits}/{held_out.examples}, on a layout never trained on "
              f"{unseen.hits}/{unseen.examples}")
    assert unseen.examples >= 4, "the moved layout's screens are new"
    held_out_examples = len((trained.exports["points"] / "test" / "metadata.jsonl").read_text().splitlines())
    assert held_out.examples == held_out_examples > 12 and held_out.hits == held_out.examples

    task = load_task(DEMO_SITE.parent / "task.yaml")
    pointer = MolmoPointer(str(trained.out))
    in_process = run_task(task, settings(tmp_path / "runs", site_url=DEMO_ADDRESS), pointer=pointer)
    load_model.cache_clear()  # the pointer's model, loaded once per process: unloaded, as the next training
    pointer.model.close()     # runs faster without a model's thread beside it
    assert in_process.status == "success", in_process.end.reason
    with served(trained.out) as (base, _):
        pointer = HttpPointer(f"{base}/v1", trained.out.name, timeout_s=60)
        over_http = run_task(task, settings(tmp_path / "runs-http", site_url=DEMO_ADDRESS), pointer=pointer)
    assert over_http.status == "success", over_http.end.reason


class Asked:
    """A model that remembers every prompt it is asked (what a policy sends at run time)."""

    def __init__(self, model) -> None:
        self.model, self.prompts = model, []

    def generate(self, images, prompts, **options):
        self.prompts += prompts
        return self.model.generate(images, prompts, **options)

    def __getattr__(self, name: str):  # anything else (describe, ...) is the model's
        return getattr(self.model, name)


def _rows(export: Path, trace: Path | None = None) -> list[dict]:
    from molmo_agent.trace import read_trace

    rows = [json.loads(line) for line in (export / "train" / "metadata.jsonl").read_text().splitlines()]
    return [r for r in rows if trace is None or r["trace"] == read_trace(trace).header.run_id]


def _image_b64(export: Path, row: dict) -> str:
    return base64.b64encode((export / "train" / row["file_name"]).read_bytes()).decode()


@pytest.mark.parametrize("which, names", [("pointer", ("points",)), ("policy", ("web", "plans"))])
def test_served_answers_equal_the_in_process_ones_row_for_row(request, which, names):
    """Every training row through serve's OpenAI chat API, and MolmoWeb's rows through its /predict, come back
    as the model answers them in this process: the rows' own answers, since the loop is closed. Sent together,
    so that serve batches them."""
    trained: Trained = request.getfixturevalue("trained" if which == "pointer" else which)
    rows = [(trained.exports[name], row) for name in names for row in _rows(trained.exports[name])]
    web = [(export, row) for export, row in rows if export.name == "web"]
    with served(trained.out) as (base, model):
        def chat(item) -> str:
            export, row = item
            body = _chat("data:image/png;base64," + _image_b64(export, row), row["prompt"], max_tokens=96,
                         temperature=0)
            return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=120).json()["choices"][0]["message"]["content"]

        def predict(item) -> str:
            export, row = item
            body = {"prompt": row["prompt"], "image_base64": _image_b64(export, row), "past_actions": [],
                    "temperature": 0.0, "top_p": 0.8}
            return httpx.post(f"{base}/predict", json=body, timeout=120).json()

        with ThreadPoolExecutor(8) as pool:
            chatted, predicted = list(pool.map(chat, rows)), list(pool.map(predict, web))
    assert [(row["answer"], said) for said, (_, row) in zip(chatted, rows) if said != row["answer"]] == []
    assert [(row["answer"], said) for said, (_, row) in zip(predicted, web) if said != row["answer"]] == []
    assert len(rows) >= 30 and (which == "pointer" or len(web) >= 40)
    assert max(model.batcher.batches) > 1, "requests sent together were answered together"


def test_model_policies_decide_the_demo_after_training_on_exported_steps(request, tmp_path, demo_traces, policy,
                                                                        trained):
    """The loop for whole steps: the tiny model, trained on the demo's steps in MolmoWeb's protocol and as planner
    steps, decides every step of the demo task: as the molmoweb policy in this process (from the command line,
    and in this process with every prompt it sends kept), through serve's OpenAI API and through serve's
    MolmoWeb API (/predict), and as the planner through serve with the same model pointing, served too (the
    `run "book a flight" --url` set-up, no DOM anywhere). Greedy (--temperature 0): a tiny model is not sure
    enough of itself to sample. Three earlier steps in the prompt (MolmoWeb's agent class default). With our
    guards (`--guards`): the recordings type the date as our step language does (the whole ISO date into the
    field), which MolmoWeb's own executor cannot do with keystrokes; this test is about the loop, not the
    harness (tests/test_harness.py), so MolmoWeb's fixed waits run at a tenth (`--wait-scale 0.1`): the demo
    settles at once."""
    from molmo_agent.harness import MOLMOWEB
    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.models.sampling import Sampling
    from molmo_agent.policies.molmoweb import MolmoWebPolicy
    from molmo_agent.policies.planner import PlannerPolicy
    from molmo_agent.run import PointerSettings
    from molmo_agent.sft.export import export
    from molmo_agent.trace import read_trace

    pointer, trained = trained, policy
    plans = _rows(trained.exports["plans"])
    assert [p["answer"] for p in plans[:3]] == ['click "Accept all"', 'click "Round trip"', 'type "SFO" into "From"']
    assert f'2. click "Round trip"\n\nCURRENT PAGE: SkyHop - find a flight ({DEMO_ADDRESS})' in plans[2]["prompt"]

    task_file = str(DEMO_SITE.parent / "task.yaml")
    task = load_task(task_file)
    done = cli("run", "--task", task_file, "--policy", "molmoweb", "--model", str(trained.out), "--pointer", "dom",
               "--site-url", DEMO_ADDRESS, "--out", str(tmp_path / "runs"), "--temperature", "0", "--history", "3",
               "--guards", "--wait-scale", "0.1", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success after 20 steps" in done.stdout, "14 steps, six of them typing: a click, then keyboard_type"

    # In this process, keeping what each policy sends: the prompts are the exported rows, byte for byte.
    greedy = Sampling(temperature=0)
    model = Asked(MolmoModel(str(trained.out)))
    request.addfinalizer(model.close)
    guarded = MOLMOWEB.with_options(guards=True, wait_scale=0.1)
    for name, policy, fmt in (("web", MolmoWebPolicy(model, history=3, sampling=greedy, harness=guarded), "molmoweb"),
                              ("plans", PlannerPolicy(model, sampling=greedy), "planner")):
        model.prompts = []
        result = run_task(task, settings(tmp_path / f"kept-{name}", site_url=DEMO_ADDRESS), policy=policy)
        assert result.status == "success", f"{name}: {result.end.reason}"
        export([result.run_dir], tmp_path / f"{name}-again", format=fmt, test_fraction=0, history=3)
        sent = model.prompts
        assert sent == [r["prompt"] for r in _rows(tmp_path / f"{name}-again")], f"{name}: exported as sent"
        assert sent == [r["prompt"] for r in _rows(trained.exports[name], demo_traces["a1"])], \
            f"{name}: the run was asked what the recording taught"

    web = {}
    with served(trained.out) as (base, _), served(pointer.out) as (pointer_base, _):
        planned = cli("run", "--task", task_file, "--policy", "planner", "--planner", f"{base}/v1",
                      "--planner-model", trained.out.name, "--pointer", "http", "--endpoint", f"{pointer_base}/v1",
                      "--model", pointer.out.name, "--site-url", DEMO_ADDRESS, "--out", str(tmp_path / "planned"),
                      "--temperature", "0", timeout=600)
        for api, endpoint in (("openai", f"{base}/v1"), ("molmoweb", base)):
            over_http = settings(tmp_path / f"web-{api}", site_url=DEMO_ADDRESS)
            over_http.policy, over_http.sampling, over_http.history, over_http.guards = "molmoweb", greedy, 3, True
            over_http.wait_scale = 0.1
            over_http.pointer = PointerSettings(name="dom", endpoint=endpoint, model=trained.out.name, api=api)
            web[api] = run_task(task, over_http)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "success after 14 steps" in planned.stdout
    [run_dir] = (tmp_path / "planned").iterdir()
    trace = read_trace(run_dir)
    assert trace.header.policy == "planner" and trace.header.policy_model == {
        "endpoint": f"{base}/v1", "model": trained.out.name, "api": "openai"}
    typed = trace.steps[2]
    assert typed.policy_raw == 'type "SFO" into "From"' and typed.grounding[0].target == "From"
    assert typed.grounding[0].raw.startswith('<points coords="1 1 '), "the served Molmo2 pointed"
    for api, result in web.items():
        assert result.status == "success", f"{api}: {result.end.reason}"
        assert read_trace(result.run_dir).header.policy_model["api"] == api
