"""Retention's errors: one base class, subclasses named for what the caller can do about them."""

from __future__ import annotations


class RetentionError(Exception):
    """Base of every error retention raises itself."""


class UnsignedLog(RetentionError):
    """The audit log does not verify, so its head was not signed: a checkpoint would vouch for a forgery.

    The audit log the service hands retention raises a subclass of this from `checkpoint`."""


class ErasureBlocked(RetentionError):
    """A reader of the key vault still holds destroyed keys' old bytes in place; try again later."""
