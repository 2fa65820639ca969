"""Policies: "what next?" -> an action. One module per policy."""

from .base import Decision, Policy
from ..language import parse_plan
from .steps import StepsPolicy

__all__ = ["Decision", "Policy", "StepsPolicy", "parse_plan"]
