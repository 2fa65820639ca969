"""Randomly initialised Molmo2 models with their processors, built offline (no weights to download).

`tiny`: a few hundred thousand parameters, built in about a second: for tests and for trying the model
path without weights. `8b`: the real Molmo2-8B shape (Qwen3-8B text, the default SigLIP vision tower,
378-pixel crops), for measuring speed on a GPU. Both have Molmo2's formats (image tokens,
`<points coords=...>` answers); the tokenizer is a small one learnt here, which changes no shape
that matters for speed except the (unused) rows of the embedding.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_TOKENS = ["<|image|>", "<|video|>", "<im_patch>", "<im_col>", "<im_start>", "<low_res_im_start>",
                "<frame_start>", "<im_end>", "<frame_end>", "<im_low>"]
CHAT_TEMPLATE = (  # like Molmo2's own, the image's tokens come first wherever the image is in the message
    "{% for message in messages %}{% if message['role'] == 'user' %}User:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] != 'image' %} {{ part['text'] }}{% endif %}{% endfor %}"
    "{% else %} {{ message['content'][0]['text'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %} Assistant:{% endif %}"
)
IMAGE_SIZE = 112  # pixels per crop side: 8x8 patches of 14
# At the usual 0.02 a tower this small passes no trace of the image to the language model (its answers
# are the same for any screenshot), so it could never learn to look; at 0.2 the image shows through.
VISION_INIT = 0.2


def _corpus() -> list[str]:
    """Text the tokenizer learns its merges from: the prompts and answers of the formats this tool speaks
    (pointing, MolmoWeb's protocol, the planner's steps) and plain web words. Merges learnt on them keep a
    MolmoWeb answer near 30 tokens instead of 80: a tiny model trains and answers in a third of the time."""
    import json
    import random

    from ..policies.planner import planner_prompt
    from ..pointers.prompts import PROMPTS
    from ..protocols import molmoweb

    draw = random.Random(0)
    words = ("click type select search submit confirm accept book flight first last name email password from to "
             "depart return cabin business economy round trip one way next back done page search results sign in "
             "the a of and in on for with button field link menu checkbox option continue cancel save").split()
    answers = [f'<points coords="1 1 {x:03d} {y:03d}">' for x in range(0, 1001, 9) for y in range(0, 1001, 37)]
    steps, said = [], []
    for _ in range(400):
        target = " ".join(draw.choice(words).capitalize() if i == 0 else draw.choice(words)
                          for i in range(draw.randint(1, 3)))
        name = draw.choice(["click", "keyboard_type", "scroll", "keyboard_press", "send_msg_to_user", "goto"])
        action = {"name": name, "x": round(draw.uniform(0, 100), draw.choice([1, 2])),
                  "y": round(draw.uniform(0, 100), draw.choice([1, 2]))}
        thought = draw.choice([f'click "{target}"', f'type "{target}" into "{target}"', "scroll down", "done"])
        steps.append(molmoweb.ModelStep(thought=thought, action=action))
        said.append(thought)
        answers.append(json.dumps({"thought": thought, "action": action}))
    prompts = [template.format(target=w) for template in PROMPTS.values() if template for w in words]
    for i in range(0, 400, 8):
        goal = " ".join(draw.choice(words) for _ in range(12))
        url = f"http://{draw.choice(words)}.test/{draw.choice(words)}.html"
        prompts.append(molmoweb.prompt(goal, steps[i:i + 8], page_index=0, title=goal[:30], url=url, keep=3))
        prompts.append(planner_prompt(goal, said[i:i + 8], goal[:30], url))
    return answers + prompts


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2048, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(), trainer)
    text_vocab = tokenizer.get_vocab_size()
    tokenizer.add_special_tokens(IMAGE_TOKENS)  # above the text vocabulary, as in Molmo2
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<|pad|>")
    return fast, text_vocab


def _shape(name: str, text_vocab: int, text_layers: int | None) -> tuple[dict, dict, dict, dict]:
    """(vision, adapter, text, image processor) settings of a shape."""
    if name == "tiny":
        vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, head_dim=16, image_size=[IMAGE_SIZE, IMAGE_SIZE], patch_size=14,
                      initializer_range=VISION_INIT)
        adapter = dict(vision_feature_layer=[-1], hidden_size=32, num_attention_heads=2, num_key_value_heads=2,
                       head_dim=16, intermediate_size=64, text_hidden_size=96, initializer_range=VISION_INIT)
        text = dict(hidden_size=96, num_attention_heads=4, num_key_value_heads=2, head_dim=24, num_hidden_layers=2,
                    intermediate_size=192, vocab_size=text_vocab, max_position_embeddings=2048)
        processor = dict(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, patch_size=14, pooling_size=[2, 2],
                         max_crops=4, overlap_margins=[2, 2])
    elif name == "8b":  # Molmo2's defaults are Qwen3-8B text and its vision tower; the adapter meets 4096
        vision, text, processor = {}, {"vocab_size": 151936}, {}
        adapter = dict(text_hidden_size=4096, intermediate_size=12288)
    else:
        raise ValueError(f"unknown shape {name!r}; use tiny or 8b")
    if text_layers:
        text["num_hidden_layers"] = text_layers
    return vision, adapter, text, processor


def random_molmo2(shape: str = "tiny", *, seed: int = 0, text_layers: int | None = None, device: str = "cpu",
                  dtype=None):
    """A random Molmo2 of `shape` and its processor, in memory. `text_layers` shortens the language model
    (an 8b-wide model with 2 layers fits a CPU smoke test)."""
    import torch
    from transformers import (Molmo2Config, Molmo2ForConditionalGeneration, Molmo2ImageProcessor,
                              Molmo2Processor, Molmo2VideoProcessor)

    tokenizer, text_vocab = _tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in IMAGE_TOKENS}
    vision, adapter, text, image = _shape(shape, text_vocab, text_layers)
    text.setdefault("additional_vocab_size", len(IMAGE_TOKENS) + 6)
    config = Molmo2Config(
        vision_config=vision, adapter_config=adapter, text_config=text,
        image_start_token_id=ids["<im_start>"], low_res_image_start_token_id=ids["<low_res_im_start>"],
        image_end_token_id=ids["<im_end>"], image_patch_id=ids["<im_patch>"],
        frame_start_token_id=ids["<frame_start>"], frame_end_token_id=ids["<frame_end>"],
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype or torch.float32)
    try:
        with torch.device(device):
            model = Molmo2ForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    video = {k: v for k, v in image.items() if k in ("size", "patch_size", "pooling_size")}
    processor = Molmo2Processor(image_processor=Molmo2ImageProcessor(**image),
                                video_processor=Molmo2VideoProcessor(**video), tokenizer=tokenizer,
                                chat_template=CHAT_TEMPLATE)
    return model.eval(), processor


def build_tiny_molmo2(out: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random Molmo2 checkpoint and processor to `out`; returns the folder."""
    out = Path(out)
    model, processor = random_molmo2("tiny", seed=seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
