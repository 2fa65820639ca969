"""The point cache: where a step's target was last time, so a second run acts without asking the pointer.

An entry's key is the step as written (secrets by placeholder, never by value), the target and whether a
field was wanted, the URL with its query parameters sorted, the viewport, the scale and the pointer kind.
Its value is the point in CSS pixels and a fingerprint of what was there: the element's role and
accessible name as the page gives them, and a perceptual hash of the screenshot around the point (what a
pixel-only page still has). Before a cached point is used, what is there now is fingerprinted again:

- the same: the step acts with no pointer call (a hit);
- different: `rw` asks the pointer again and marks the step healed; `ro` fails, naming the step, the URL,
  what was expected and what is there;
- no entry: `rw` asks the pointer and learns; `ro` fails, naming the step and the URL. `ro` is what CI runs:
  a step nobody recorded would otherwise ask the live pointer there silently (a model CI may not have, and a
  result the cache never vouched for).

Entries are plain JSON files, one per key, meant to be committed beside the tests. New and healed entries
wait in `pending` until `commit()` (the pytest plugin commits when the test passes, so a failing run never
teaches the cache).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from PIL import Image
from pydantic import BaseModel, Field

from .errors import ConfigError, PointerError

Mode = Literal["rw", "ro", "off", "refresh"]
MODES = ("rw", "ro", "off", "refresh")
REGION = 48  # CSS px around the point that the perceptual hash covers
HASH_TOLERANCE = 10  # of 64 bits: anti-aliasing and a caret differ, another element does not


class CacheMismatchError(PointerError):
    """A read-only cache found something else where the step's target was."""

    def __init__(self, message: str, screenshot: bytes | None = None, point: tuple[float, float] | None = None,
                 scale: float = 1.0) -> None:
        super().__init__(message)
        self.screenshot, self.point, self.scale = screenshot, point, scale  # for an annotated screenshot


class CacheKey(BaseModel):
    step: str
    target: str
    field: bool
    url: str
    viewport: tuple[int, int]
    scale: float
    pointer: str

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:24]


class Fingerprint(BaseModel):
    role: str | None = None
    name: str = ""
    region_hash: str = Field("", description="average hash (8x8) of the screenshot around the point")

    def matches(self, other: "Fingerprint") -> bool:
        if self.name or other.name:  # the page names what is there: trust the name and role
            return (self.role, self.name) == (other.role, other.name)
        return _bits_apart(self.region_hash, other.region_hash) <= HASH_TOLERANCE

    def describe(self) -> str:
        if self.name or self.role:
            return f"{self.role or 'element'} {self.name!r}"
        return f"pixels {self.region_hash}"


class CacheEntry(BaseModel):
    key: CacheKey
    point: tuple[float, float]
    fingerprint: Fingerprint


def sorted_url(url: str) -> str:
    """The URL with its query parameters in order: ?b=2&a=1 and ?a=1&b=2 are one page."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))))


def region_hash(screenshot: bytes, point: tuple[float, float], scale: float) -> str:
    image = Image.open(io.BytesIO(screenshot)).convert("L")
    x, y, half = point[0] * scale, point[1] * scale, REGION * scale / 2
    region = image.crop((round(x - half), round(y - half), round(x + half), round(y + half))).resize((8, 8))
    pixels = list(region.tobytes())  # mode L: one byte a pixel
    mean = sum(pixels) / len(pixels)
    return f"{sum(1 << i for i, p in enumerate(pixels) if p > mean):016x}"


def _bits_apart(a: str, b: str) -> int:
    if not a or not b:
        return 64
    return bin(int(a, 16) ^ int(b, 16)).count("1")


class CacheStats(BaseModel):
    hits: int = 0
    misses: int = 0
    healed: int = 0
    pointer_calls: int = 0
    healed_steps: list[str] = Field(default_factory=list)

    def add(self, other: "CacheStats") -> None:
        for name in ("hits", "misses", "healed", "pointer_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.healed_steps += other.healed_steps


class PointCache:
    def __init__(self, folder: str | Path, mode: Mode = "rw") -> None:
        if mode not in MODES:
            raise ConfigError(f"cache mode {mode!r} is not one of {', '.join(MODES)}")
        self.folder, self.mode = Path(folder), mode
        self.pending: dict[str, CacheEntry] = {}
        self.stats = CacheStats()
        self.secrets = None
        """A `Secrets`: values a page showed in a name are written as their placeholders."""

    def lookup(self, key: CacheKey) -> CacheEntry | None:
        if self.mode in ("off", "refresh"):
            return None
        digest = key.digest()
        if digest in self.pending:
            return self.pending[digest]
        path = self.folder / f"{digest}.json"
        if not path.is_file():
            return None
        try:
            entry = CacheEntry.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            return None  # a damaged entry is a miss, not a crash
        return entry if entry.key == key else None

    def remember(self, entry: CacheEntry) -> None:
        if self.mode in ("rw", "refresh"):
            self.pending[entry.key.digest()] = entry

    def commit(self) -> int:
        """Write what this run learnt; returns how many entries."""
        written = len(self.pending)
        if written:
            self.folder.mkdir(parents=True, exist_ok=True)
        for digest, entry in self.pending.items():
            text = json.dumps(json.loads(entry.model_dump_json()), indent=2, sort_keys=True) + "\n"
            if self.secrets:
                text = self.secrets.redact(text)
            (self.folder / f"{digest}.json").write_text(text, encoding="utf-8")
        self.pending.clear()
        return written

    def discard(self) -> None:
        self.pending.clear()

    # -- at a step ----------------------------------------------------------------------------------
    def recall(self, browser, observation, record, *, step: str, pointer: str) -> tuple[float, float] | None:
        """The cached point for this grounding when what is there still matches, else None (a miss, or a
        mismatch the pointer is to heal). In `ro` a mismatch raises `CacheMismatchError`."""
        if self.mode == "off":
            return None
        key = _key(observation, record, step, pointer)
        entry = self.lookup(key)
        if entry is None:
            self.stats.misses += 1
            if self.mode == "ro":
                raise CacheMismatchError(
                    f"{step} on {key.url}: the point cache {self.folder} has no entry for this step and is read-only "
                    "(--agent-cache-mode rw records it; commit the new file)", observation.screenshot)
            return None
        # The pixels count only where neither look had a name: no image is decoded where the page names the element.
        now = fingerprint(browser, observation, entry.point, pixels=not entry.fingerprint.name)
        record.css = [entry.point]
        if now.matches(entry.fingerprint):
            self.stats.hits += 1
            record.cache, record.raw = "hit", f"cached: {entry.fingerprint.describe()}"
            return entry.point
        if self.mode == "ro":
            x, y = entry.point
            raise CacheMismatchError(
                f"{step} on {key.url}: the point cache expected {entry.fingerprint.describe()} at ({x:.0f}, {y:.0f}), "
                f"but {now.describe()} is there (a read-only cache; --agent-cache-mode rw re-grounds it)",
                observation.screenshot, entry.point, observation.scale)
        record.cache = "healed"
        self.stats.healed += 1
        self.stats.healed_steps.append(step)
        return None

    def learn(self, browser, observation, record, *, step: str, pointer: str) -> None:
        """After the pointer answered: remember its point and what is there."""
        self.stats.pointer_calls += 1
        if record.css and self.mode in ("rw", "refresh"):
            point = tuple(record.css[0])
            self.remember(CacheEntry(key=_key(observation, record, step, pointer), point=point,
                                     fingerprint=fingerprint(browser, observation, point)))


def _key(observation, record, step: str, pointer: str) -> CacheKey:
    return CacheKey(step=step, target=record.target, field=record.field, url=sorted_url(observation.url),
                    viewport=observation.viewport, scale=observation.scale, pointer=pointer)


def fingerprint(browser, observation, point: tuple[float, float], *, pixels: bool = True) -> Fingerprint:
    """What is at `point`: the page's role and name for it and, if asked (`pixels`) and it has no name, the
    hash of the screenshot around it."""
    found = browser.element_at(*point) or {}
    name = found.get("name") or ""
    hashed = region_hash(observation.screenshot, point, observation.scale) if pixels or not name else ""
    return Fingerprint(role=found.get("role"), name=name, region_hash=hashed)
