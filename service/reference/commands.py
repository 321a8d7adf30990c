"""`safesignal areas`: the deployment's area codes."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service.cli.context import current_state


@click.command("areas")
@with_appcontext
def areas() -> None:
    """List the deployment's area codes (for a pharmacy's --area), with name and district."""
    for area in current_state().intake.areas.areas():
        click.echo(f"{area.code:<28} {area.district or '-':<28} {area.name}")
