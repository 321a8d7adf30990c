"""Retention's errors: one base class, subclasses named for what the caller can do about them."""

from __future__ import annotations


class RetentionError(Exception):
    """Base of every error retention raises itself."""
