"""What a pointing model is asked, per model family, and how its answer is read. Shared by the pointers,
`serve` and `export`, so a model is trained on exactly the prompts it is later asked.

- molmo (Molmo v1): "Point to the X." -> <point x=".." y="..">, percent.
- molmo2 (Molmo2): one of its published pointing templates, the one that invites "There are none."
  -> <points coords="1 1 x y">, thousandths.
- molmoweb (MolmoWeb): its own grounding mode, `web_grounding:` -> a bare click action JSON, percent.
- generic: any vision chat model, told the answer form.
"""

from __future__ import annotations

import io
import re

from PIL import Image

from ..errors import PointerError
from ..observation import Observation
from ..points import Point, parse_points
from ..protocols import molmoweb

PROMPTS = {
    "molmo": "Point to the {target}.",
    "molmo2": "Point to the {target}\nPlease say 'There are none.' if it is not in the image.",
    "molmoweb": None,  # molmoweb.grounding_prompt
    "generic": (
        'Point to the {target}. Answer only with <point x="X" y="Y">{target}</point>, '
        "where X and Y are percent of the image width and height."
    ),
}
NONE_THERE = re.compile(r"^\W*there are none\b", re.I)


def model_family(model: str) -> str:
    name = model.lower().rstrip("/").rsplit("/", 1)[-1]
    if name.startswith("molmoweb"):
        return "molmoweb"
    if name.startswith(("molmo2", "molmopoint")):
        return "molmo2"
    if name.startswith("molmo"):
        return "molmo"
    return "generic"


def prompt_for(target: str, family: str, *, field: bool) -> str:
    what = f"input field labelled {target}" if field else target
    if family == "molmoweb":
        return molmoweb.grounding_prompt(what)
    return PROMPTS[family].format(target=what)


def read_points(text: str, target: str) -> list[Point]:
    """The points in a pointing model's answer; its "There are none." is a clean not-found."""
    if NONE_THERE.match(text or ""):
        raise PointerError(f"{target!r} not found (the model says: There are none.)", text)
    return parse_points(text)


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
