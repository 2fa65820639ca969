"""A judgment and its calls, kept as JSON in the run's `judge/` folder (earlier judgments stay beside new ones)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

JUDGE_DIR = "judge"
Verdict = Literal["success", "failure", "unknown"]


class JudgeCall(BaseModel):
    stage: str = Field(description="verdict, key points, screenshot of step N, or final")
    system: str
    text: str = Field(description="the user text; [image: PATH] marks where each screenshot went")
    images: list[str] = Field(default_factory=list, description="screenshots sent, relative to the run directory")
    answer: str | None = None
    error: str | None = Field(None, description="why the call brought no answer")


class Judgment(BaseModel):
    method: str
    model: str
    endpoint: str
    verdict: Verdict
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    key_points: str | None = None
    kept_images: list[str] = Field(default_factory=list, description="WebJudge: screenshots that reached the final call")
    reason: str | None = Field(None, description="a person's verdict (method `person`): why they overruled the judges")
    calls: list[JudgeCall] = Field(default_factory=list)

    @property
    def by(self) -> str:
        return f"a person: {self.reason}" if self.method == PERSON else f"{self.method} judge {self.model}"


PERSON = "person"
"""The method of a verdict a person set (`judge DIR --set TASK=success --why ...`)."""


def load_judgments(run_dir: Path) -> list[Judgment]:
    """Every judgment of the run, oldest first."""
    folder = Path(run_dir) / JUDGE_DIR
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [Judgment.model_validate_json(f.read_text(encoding="utf-8")) for f in files]


def save_judgment(run_dir: Path, judgment: Judgment) -> Path:
    folder = Path(run_dir) / JUDGE_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"{len(list(folder.glob('*.json'))) + 1:03d}-{judgment.method}.json"
    path.write_text(judgment.model_dump_json(indent=2), encoding="utf-8")
    return path
