"""How a model's answers are drawn. Pointing is greedy; a policy samples, as MolmoWeb was evaluated."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Sampling(BaseModel):
    temperature: float = Field(0.7, ge=0, le=2, description="0 is greedy")
    top_p: float = Field(0.8, gt=0, le=1)
    max_new_tokens: int = Field(1024, ge=1, le=4096)

    def options(self) -> dict:
        """Keyword arguments of every model's `generate`."""
        return self.model_dump()


POLICY = Sampling()
"""MolmoWeb's published sampling: temperature 0.7, top-p 0.8, up to 1024 new tokens."""
