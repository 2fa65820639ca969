"""Chromium: launching, observing, acting. Knows nothing about models."""

from .launch import BrowserConfig, find_chromium, parse_viewport
from .session import Browser, Chromium, until_gone
from .warm import WarmStart

__all__ = ["Browser", "BrowserConfig", "Chromium", "find_chromium", "parse_viewport", "until_gone", "WarmStart"]
