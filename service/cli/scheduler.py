"""`safesignal scheduler`: the process that runs every domain's jobs (service.scheduler)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service.cli.context import current_state
from service.config import ConfigError


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run every domain's scheduled jobs until stopped (one such process per deployment)."""
    from service.scheduler import serve

    try:
        current_state().retention.signer  # it signs checkpoints: fail now, not at the first one
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    serve(current_state(), current_app.config)
