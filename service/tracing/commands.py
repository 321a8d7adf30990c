"""`safesignal tracing`: pharmacies that issue codes, export batches, the signing key."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, now, parse_uuid
from service.config import ConfigError

tracing_group = click.Group("tracing", help="Contact tracing: pharmacies that issue codes, export batches, the signing key.")


def _set_tracing(organisation_id: str, allowed: bool) -> None:
    from service.tracing import codes

    session = per_request.session()
    try:
        codes.set_tracing(session, parse_uuid(organisation_id), allowed, now=now(), audit=current_state().audit, actor="cli")
    except codes.NotPermitted as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    session.commit()


@tracing_group.command("grant")
@click.argument("organisation_id")
@with_appcontext
def tracing_grant(organisation_id: str) -> None:
    """Allow a pharmacy (that tests) to issue verification codes."""
    _set_tracing(organisation_id, True)
    click.echo(f"{organisation_id} may issue verification codes")


@tracing_group.command("withdraw")
@click.argument("organisation_id")
@with_appcontext
def tracing_withdraw(organisation_id: str) -> None:
    """Stop a pharmacy issuing verification codes (codes already issued run until they expire)."""
    _set_tracing(organisation_id, False)
    click.echo(f"{organisation_id} may no longer issue verification codes")


@tracing_group.command("export")
@with_appcontext
def tracing_export() -> None:
    """Build and sign the export batches of every window that has ended (the scheduler does this
    every SAFESIGNAL_TRACING_EXPORT_INTERVAL_MINUTES)."""
    from service.tracing.jobs import export_due

    try:
        files = export_due(current_state(), "cli")
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not files:
        click.echo("nothing due: every window that ended 5 minutes ago or more has its batch")
    for name, keys in files:
        click.echo(f"{name}  {keys} keys (padding included)")


@tracing_group.command("public-key")
@with_appcontext
def tracing_public_key() -> None:
    """The export signing key's public half (PEM) with its id and version, for the apps."""
    from cryptography.hazmat.primitives import serialization

    tracing = current_state().tracing
    try:
        key = tracing.export_signer().public_key()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    info = tracing.export_rules.info
    # The PEM alone on stdout, so that it can go straight to a file; what names it on stderr.
    click.echo(f"verification_key_id={info.key_id} verification_key_version={info.key_version} "
               "signature_algorithm=1.2.840.10045.4.3.2", err=True)
    click.echo(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(), nl=False)
