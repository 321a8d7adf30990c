"""The `safesignal` command: the operator's entry point (a Flask CLI group).

The shared groups live here (db, scheduler, demo); each domain's commands live beside it
(service/<domain>/commands.py) and come in through its declaration (service.domains), as its
blueprint does. Tokens and enrollment codes are printed once, when created, and never again:
only their hashes are stored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import click
from flask import Flask
from flask.cli import FlaskGroup
from werkzeug.utils import import_string

from service.cli.db import db_group
from service.cli.demo import demo
from service.cli.scheduler import scheduler
from service.config import ConfigError
from service.domain import Domain


def register_commands(app: Flask, domains: Iterable[Domain]) -> None:
    """Attach the shared command groups and every domain's commands to the app's CLI."""
    for command in (db_group, scheduler, demo):
        app.cli.add_command(command)
    for domain in domains:
        for name in domain.commands:
            app.cli.add_command(import_string(name))


def _create_app() -> Flask:
    from service import create_app

    try:
        return create_app()
    except ConfigError as error:
        click.echo(f"safesignal: {error}", err=True)
        sys.exit(2)


cli = FlaskGroup(name="safesignal", create_app=_create_app, add_default_commands=False, add_version_option=False,
                 help="safesignal operator commands. Configuration comes from SAFESIGNAL_* variables.")


# Flask's generic options (--app, --env-file, --debug) mean nothing for this command.
cli.params = [param for param in cli.params if param.name not in ("app", "env_file", "debug")]


def main() -> None:
    """Entry point of the `safesignal` command."""
    # One BLAS thread, set before any command imports numpy (OpenBLAS reads it once, at load): the
    # scheduler releases signals too. Why one: service/gunicorn.py. An operator's setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cli.main(prog_name="safesignal")
