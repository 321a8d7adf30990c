"""`safesignal partners`: organisations and their API tokens (printed once, when created)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, now, parse_uuid
from service.partners.services import OrganisationKind

partners_group = click.Group("partners", help="Partner organisations and their API tokens.")


@partners_group.command("add")
@click.option("--kind", required=True, type=click.Choice([kind.value for kind in OrganisationKind]))
@click.option("--name", required=True, help="The organisation's name, e.g. 'Apotheek De Linde'.")
@click.option("--area", default=None, help="A pharmacy's registered area code (GET /v1/areas).")
@click.option("--municipality", "municipalities", multiple=True,
              help="A prevention service's territory: a municipality it may see (repeat for several; `safesignal areas`).")
@click.option("--label", default="default", help="Label of the first token.")
@with_appcontext
def partners_add(kind: str, name: str, area: str | None, municipalities: tuple[str, ...], label: str) -> None:
    """Register an organisation and print its first API token (once).

    A field service gets no token here: its devices enroll with codes (`devices enroll-code`).
    """
    from service.partners.services import PartnerError, add_organisation, issue_credential
    from service.signals.services import BadTerritory, set_territory

    if area is not None and area not in current_state().intake.areas:
        raise click.BadParameter("not an area of this deployment", param_hint="--area")
    if municipalities and kind != OrganisationKind.PREVENTION_SERVICE:
        raise click.BadParameter("only a prevention service has a territory", param_hint="--municipality")
    session = per_request.session()
    try:
        organisation = add_organisation(session, kind=OrganisationKind(kind), name=name, area=area, now=now())
        if municipalities:
            set_territory(session, current_state().signals, organisation, municipalities, current_state().audit, "cli")
        token = None
        if kind != OrganisationKind.FIELD_SERVICE:
            _, token = issue_credential(session, organisation, label=label, now=now())
    except BadTerritory as error:
        raise click.BadParameter(str(error), param_hint="--municipality") from None
    except PartnerError as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"organisation {organisation.id} ({kind}) {name}")
    if kind == OrganisationKind.PREVENTION_SERVICE and not municipalities:
        click.echo(f"note: no territory yet; its analysts see nothing until `safesignal signals territory {organisation.id} <municipality>`", err=True)
    if token:
        click.echo(f"token (shown once, store it now): {token}")


@partners_group.command("token")
@click.argument("organisation_id")
@click.option("--label", default="default")
@with_appcontext
def partners_token(organisation_id: str, label: str) -> None:
    """Issue another token for an organisation (printed once)."""
    from service.partners.models import Organisation
    from service.partners.services import PartnerError, issue_credential

    session = per_request.session()
    organisation = session.get(Organisation, parse_uuid(organisation_id))
    if organisation is None or organisation.kind == OrganisationKind.FIELD_SERVICE:
        raise click.ClickException("no such organisation (field services enroll devices instead)")
    try:
        _, token = issue_credential(session, organisation, label=label, now=now())
    except PartnerError as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"token (shown once, store it now): {token}")


@partners_group.command("list")
@with_appcontext
def partners_list() -> None:
    """List organisations and their credentials (never a token)."""
    from service.partners.services import list_organisations

    for organisation in list_organisations(per_request.session()):
        state = "revoked" if organisation.revoked_at else "active"
        # A revoked organisation has no credential left to issue codes with, whatever its grant says.
        tracing = "  (issues tracing codes)" if organisation.tracing_granted_at and not organisation.revoked_at else ""
        click.echo(f"{organisation.id}  {organisation.kind:<18} {state:<7} {organisation.area or '-':<24} {organisation.name}{tracing}")
        for credential in organisation.credentials:
            cstate = "revoked" if credential.revoked_at else "active"
            click.echo(f"    credential {credential.id}  {credential.role:<12} {cstate:<7} {credential.label}")


@partners_group.command("revoke")
@click.argument("ident")
@with_appcontext
def partners_revoke(ident: str) -> None:
    """Revoke an organisation (all its credentials) or a single credential, by id."""
    from service.partners.services import PartnerError, revoke

    session = per_request.session()
    try:
        what = revoke(session, parse_uuid(ident), now=now())
    except PartnerError as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"revoked {what} {ident}")
