"""`safesignal demo`: demo partners, tokens and signals (development only)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, now


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create demo partners (once) and print fresh demo tokens and an enrollment code.

    Development only. Each run revokes the previous demo tokens and prints new ones.
    """
    from service.demo import setup_demo

    if current_app.config["ENV"] != "development":
        raise click.ClickException("demo partners are for development mode only")
    for line in setup_demo(per_request.session(), current_state(), now()):
        click.echo(line)
