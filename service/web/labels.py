"""A taxonomy label in the page's language, or the nearest language it has: shared by the pages.

The taxonomy's labels are in nl, fr and en (de optional): German falls back to French, then English.
A label not in the page's language carries its own (`lang`), so a screen reader reads it in that
language (templates: web/_label.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FALLBACK = {"de": ("fr", "en"), "nl": ("en",), "fr": ("en",), "en": ()}


@dataclass(frozen=True)
class Label:
    text: str
    lang: str | None  # the language of the text when it is not the page's


def label(labels: Mapping[str, str], current: str) -> Label:
    """A taxonomy label in the page's language, or the nearest one it has (marked with its language)."""
    for candidate in (current, *FALLBACK.get(current, ("en",))):
        if candidate in labels:
            return Label(labels[candidate], None if candidate == current else candidate)
    first = next(iter(labels))
    return Label(labels[first], first)
