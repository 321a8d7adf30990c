"""`safesignal devices`: enrollment codes (printed once, when created) and device credentials."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, now, parse_uuid

devices_group = click.Group("devices", help="Field devices of field services.")


@devices_group.command("enroll-code")
@click.option("--org", "organisation_id", required=True, help="The field service's organisation id.")
@click.option("--label", required=True, help="Which device, e.g. 'team Noord tablet 3'. No person's name.")
@click.option("--ttl-hours", type=click.IntRange(1, 24 * 14), default=None, help="Validity (default SAFESIGNAL_ENROLLMENT_CODE_TTL_HOURS).")
@with_appcontext
def devices_enroll_code(organisation_id: str, label: str, ttl_hours: int | None) -> None:
    """Print a one-time enrollment code for a field device (once)."""
    from service.devices.services import issue_code
    from service.partners.services import PartnerError

    ttl = dt.timedelta(hours=ttl_hours or current_app.config["ENROLLMENT_CODE_TTL_HOURS"])
    session = per_request.session()
    try:
        record, code = issue_code(session, current_state().pseudonyms, parse_uuid(organisation_id), label=label, now=now(), ttl=ttl)
    except PartnerError as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"enrollment code (one use, until {record.expires_at:%Y-%m-%d %H:%M} UTC): {code}")


@devices_group.command("list")
@click.option("--org", "organisation_id", default=None)
@with_appcontext
def devices_list(organisation_id: str | None) -> None:
    """List device credentials."""
    from service.devices.services import list_devices

    for credential in list_devices(per_request.session(), parse_uuid(organisation_id) if organisation_id else None):
        state = "revoked" if credential.revoked_at else "active"
        click.echo(f"{credential.id}  {state:<7} {credential.created_at:%Y-%m-%d}  {credential.label}")


@devices_group.command("revoke")
@click.argument("device_id")
@with_appcontext
def devices_revoke(device_id: str) -> None:
    """Revoke one device's credential."""
    from service.partners.models import Credential
    from service.partners.services import revoke

    session = per_request.session()
    credential = session.get(Credential, parse_uuid(device_id))
    if credential is None or credential.role != "field_device":
        raise click.ClickException("no device with that id")
    revoke(session, credential.id, now=now())
    session.commit()
    click.echo(f"revoked device {device_id}")
