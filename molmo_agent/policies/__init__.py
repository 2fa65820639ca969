"""Policies: "what next?" -> an action. One module per policy."""

from .base import Decision, Policy
from .steps import StepsPolicy, parse_plan

__all__ = ["Decision", "Policy", "StepsPolicy", "parse_plan"]
