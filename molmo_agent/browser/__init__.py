"""Chromium: launching, observing, acting. Knows nothing about models."""

from .launch import BrowserConfig, find_chromium, parse_viewport
from .session import Browser

__all__ = ["Browser", "BrowserConfig", "find_chromium", "parse_viewport"]
