"""A tiny, randomly initialised Molmo2 with its processor, built offline in about a second.

For tests and for trying the model path without weights: it has Molmo2's architecture and formats
(image tokens, `<points coords=...>` answers) at a few hundred thousand parameters.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_TOKENS = ["<|image|>", "<|video|>", "<im_patch>", "<im_col>", "<im_start>", "<low_res_im_start>",
                "<frame_start>", "<im_end>", "<frame_end>", "<im_low>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}User:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>{% else %} {{ part['text'] }}"
    "{% endif %}{% endfor %}{% else %} {{ message['content'][0]['text'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %} Assistant:{% endif %}"
)
IMAGE_SIZE = 112  # pixels per crop side: 8x8 patches of 14
# At the usual 0.02 a tower this small passes no trace of the image to the language model (its answers
# are the same for any screenshot), so it could never learn to look; at 0.2 the image shows through.
VISION_INIT = 0.2


def _corpus() -> list[str]:
    """Text the tokenizer learns its merges from: point answers and pointing prompts."""
    answers = [f'<points coords="1 1 {x:03d} {y:03d}">' for x in range(0, 1001, 9) for y in range(0, 1001, 37)]
    prompts = ["User: Point to the input field labelled Name. Assistant:", "Point to the button.",
               "Click, type, select, search, submit, confirm, accept, first, last, email, password."]
    return answers + prompts * 50


def build_tiny_molmo2(out: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random Molmo2 checkpoint and processor to `out`; returns the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (Molmo2Config, Molmo2ForConditionalGeneration, Molmo2ImageProcessor,
                              Molmo2Processor, Molmo2VideoProcessor, PreTrainedTokenizerFast)

    out = Path(out)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=768, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(), trainer)
    text_vocab = tokenizer.get_vocab_size()
    tokenizer.add_special_tokens(IMAGE_TOKENS)  # above the text vocabulary, as in Molmo2
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<|pad|>")
    ids = {token: fast.convert_tokens_to_ids(token) for token in IMAGE_TOKENS}

    torch.manual_seed(seed)
    config = Molmo2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           num_key_value_heads=2, head_dim=16, image_size=[IMAGE_SIZE, IMAGE_SIZE], patch_size=14,
                           initializer_range=VISION_INIT),
        adapter_config=dict(vision_feature_layer=[-1], hidden_size=32, num_attention_heads=2, num_key_value_heads=2,
                            head_dim=16, intermediate_size=64, text_hidden_size=96, initializer_range=VISION_INIT),
        text_config=dict(hidden_size=96, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                         num_hidden_layers=2, intermediate_size=192, vocab_size=text_vocab,
                         additional_vocab_size=len(IMAGE_TOKENS) + 6, max_position_embeddings=2048),
        image_start_token_id=ids["<im_start>"], low_res_image_start_token_id=ids["<low_res_im_start>"],
        image_end_token_id=ids["<im_end>"], image_patch_id=ids["<im_patch>"],
        frame_start_token_id=ids["<frame_start>"], frame_end_token_id=ids["<frame_end>"],
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    model = Molmo2ForConditionalGeneration(config)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    processor = Molmo2Processor(
        image_processor=Molmo2ImageProcessor(size=size, patch_size=14, pooling_size=[2, 2], max_crops=4,
                                             overlap_margins=[2, 2]),
        video_processor=Molmo2VideoProcessor(size=size, patch_size=14, pooling_size=[2, 2]),
        tokenizer=fast, chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
