"""What every `safesignal` command reads: the application's State, its clock, and ids as operators type them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import click
from flask import current_app


def current_state() -> Any:
    """The current application's State (service.State)."""
    return current_app.extensions["safesignal"]


def now() -> dt.datetime:
    """The application's clock, now."""
    return current_state().clock()


def parse_uuid(value: str) -> uuid.UUID:
    """An id as `list` prints it, or a usage error."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter("not an id (a UUID as `list` prints it)") from None
