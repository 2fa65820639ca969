"""inspect: what the pixel pointer makes of a page or a screenshot, drawn on it."""

from __future__ import annotations

import io
from pathlib import Path

import typer

from ..errors import ConfigError, MolmoAgentError
from ._common import SCALE, VIEWPORT, app, fail, out


@app.command()
def inspect(
    source: str = typer.Argument(..., help="a URL to open, or a screenshot (PNG or JPEG)"),
    target: list[str] = typer.Option([], "--target", help="text to find, as a step names it (repeatable)"),
    field: bool = typer.Option(False, "--field", help="the targets name fields: point at the field, not the label"),
    out_file: Path = typer.Option(Path("inspect.png"), "--out", help="the PNG to write"),
    viewport: str = VIEWPORT,
    scale: float = SCALE,
) -> None:
    """Draw what the ocr pointer sees: its controls (fields red, buttons blue, checkboxes and radios green,
    add-ons purple), the text lines (grey), each label's link to its field, and where each --target leads."""
    from PIL import Image

    from ..browser import parse_viewport
    from ..pointers.layout import label_links
    from ..pointers.ocr import OcrPointer, seen
    from ..pointers.overlay import draw
    from ..pointers.screen import kind_counts

    try:
        screenshot, size = _screenshot(source, parse_viewport(viewport), scale)
        pointer = OcrPointer()
        screen = pointer.parse(screenshot, size)
        marks, points = seen(screen), []
        links = [(label, field.center) for label, field in label_links(screen.controls, screen.lines)]
        for wanted in target:
            found = pointer.ground(wanted, screen, field=field)
            marks += [m for m in seen(screen, found) if m.kind in ("label", "chosen")]
            points.append(found.point)
            out.print(f"{wanted!r}: {found.how} at ({found.point[0]:.0f}, {found.point[1]:.0f}) CSS px, "
                      f"from the text {found.text!r} ({found.score:.2f})")
    except MolmoAgentError as exc:
        fail(exc)
    image = Image.open(io.BytesIO(screenshot))
    draw(image, image.width / size[0], marks, screen.lines, links, points).save(out_file)
    out.print(f"{kind_counts(screen.controls)}; {len(screen.lines)} text lines; {len(links)} label -> field links: {out_file}")


def _screenshot(source: str, viewport: tuple[int, int], scale: float) -> tuple[bytes, tuple[int, int]]:
    """The screenshot's bytes and its size in CSS pixels: a file as it is (its pixels / --scale), or a page."""
    path = Path(source)
    if path.is_file():
        from PIL import Image, UnidentifiedImageError

        data = path.read_bytes()
        try:
            width, height = Image.open(io.BytesIO(data)).size
        except UnidentifiedImageError:
            raise ConfigError(f"{source} is not an image; give a PNG or JPEG screenshot, or a URL") from None
        return data, (round(width / scale), round(height / scale))
    if "://" not in source:
        raise ConfigError(f"{source} is neither a file nor a URL (http://..., https://..., file://...)")
    from ..browser import Browser, BrowserConfig

    with Browser(BrowserConfig(viewport=viewport, scale=scale, allow_file=source.startswith("file://"))) as browser:
        browser.goto(source)
        return browser.observe().screenshot, viewport
