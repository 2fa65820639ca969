"""What a pointing model is asked, per model family. Shared by the pointers, `serve`, and `export`,
so a model is trained on exactly the prompts it is later asked."""

from __future__ import annotations

import io

from PIL import Image

from ..observation import Observation

PROMPTS = {
    # Molmo v1 and Molmo2 were both trained on "Point to ..." requests.
    "molmo": "Point to the {target}.",
    "molmo2": "Point to the {target}.",
    "generic": (
        'Point to the {target}. Answer only with <point x="X" y="Y">{target}</point>, '
        "where X and Y are percent of the image width and height."
    ),
}


def model_family(model: str) -> str:
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("molmo2", "molmoweb", "molmopoint")):
        return "molmo2"
    if name.startswith("molmo"):
        return "molmo"
    return "generic"


def prompt_for(target: str, family: str, *, field: bool) -> str:
    what = f"input field labelled {target}" if field else target
    return PROMPTS[family].format(target=what)


def viewport_image(observation: Observation) -> Image.Image:
    """The screenshot as RGB at CSS size: what a model is shown (HiDPI pixels add tokens, not answers)."""
    image = Image.open(io.BytesIO(observation.screenshot))
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.convert("RGBA").getchannel("A"))
        image = background
    if image.size != tuple(observation.viewport):
        image = image.resize(observation.viewport, Image.Resampling.LANCZOS)
    return image
