"""`safesignal people`: invite the persons who use the web pages, list and revoke their accounts,
and move their TOTP secrets to a new KEK.

An invitation link is printed once, when issued, and e-mailed too where SMTP is configured (the
link is printed either way, so that the operator can hand it over another way when the mail goes
astray). The address typed after --email is used to send and then forgotten: the account holds
only its pseudonym, and nothing prints it back.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, now, parse_uuid
from service.people.models import Person

people_group = click.Group("people", help="People who use the web pages: invitations and accounts.")


@people_group.command("invite")
@click.option("--org", "organisation_id", required=True, help="The person's organisation id (`safesignal partners list`).")
@click.option("--email", required=True, help="Where the invitation goes; only its pseudonym is stored.")
@with_appcontext
def people_invite(organisation_id: str, email: str) -> None:
    """Invite a person: print the one-time invitation link (once), and e-mail it where SMTP is set.

    Inviting an address whose invitation is pending issues a new link; the old one stops working.
    Exits with status 1 when the e-mail could not be sent: the invitation stands and its link is printed.
    """
    from service.people.mail import MailError, send_invitation, smtp_configured
    from service.people.services import PeopleError, invite, role_of
    from service.partners.models import Organisation

    session = per_request.session()
    at = now()
    try:
        person, token = invite(session, current_state().accounts, organisation_id=parse_uuid(organisation_id),
                               email=email, now=at)
    except PeopleError as error:
        raise click.ClickException(str(error)) from None
    role = role_of(session.get(Organisation, person.organisation_id))
    expires = person.invitation_expires_at
    session.commit()
    link = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/invitation/{token}"
    click.echo(f"person {person.id} ({role}) invited to organisation {person.organisation_id}")
    click.echo(f"invitation link (one use, until {expires:%Y-%m-%d %H:%M} UTC; shown once): {link}")
    if not smtp_configured(current_app.config):
        click.echo("not e-mailed (no SAFESIGNAL_SMTP_HOST): give the person the link yourself", err=True)
        return
    try:
        send_invitation(current_app.config, email, link, expires, at)
    except MailError as error:
        raise click.ClickException(f"the invitation stands, but the e-mail could not be sent ({error}): "
                                   "give the person the link above yourself, or invite again for a new link") from None
    click.echo("e-mailed the link to the address given")


@people_group.command("list")
@with_appcontext
def people_list() -> None:
    """List people: id, organisation, role, status, language, created (no address: none is stored)."""
    from service.people.services import list_people, person_status, role_of

    at = now()
    for person, organisation in list_people(per_request.session()):
        click.echo(f"{person.id}  {organisation.id}  {role_of(organisation):<12} {person_status(person, at):<18} "
                   f"{person.language or '-':<5} {person.created_at:%Y-%m-%d %H:%M}")


@people_group.command("revoke")
@click.argument("person_id")
@with_appcontext
def people_revoke(person_id: str) -> None:
    """Revoke a person's account: every session of theirs ends, a pending invitation stops working."""
    from service.people.services import PeopleError, revoke

    session = per_request.session()
    ident = parse_uuid(person_id)
    person = session.get(Person, ident)
    if person is not None and person.revoked_at is not None:
        click.echo(f"person {ident} was already revoked on {person.revoked_at:%Y-%m-%d %H:%M} UTC")
        return
    try:
        revoke(session, ident, now())
    except PeopleError as error:
        raise click.ClickException(f"{error} (ids as `safesignal people list` prints them)") from None
    session.commit()
    click.echo(f"revoked person {ident}: every session of theirs ended")


@people_group.command("rotate-kek")
@with_appcontext
def people_rotate_kek() -> None:
    """Re-wrap people's TOTP secrets under the current KEK (run beside `safesignal keys rotate-kek`).

    Run it while the old KEK is still in SAFESIGNAL_KEK_PREVIOUS_FILES; it can be repeated.
    """
    from crypto.errors import KekError
    from service.people.services import rewrap_totp_secrets

    session = per_request.session()
    try:
        count = rewrap_totp_secrets(session, current_state().accounts, now())
    except KekError:
        raise click.ClickException("a TOTP secret is wrapped under a KEK this process does not have: "
                                   "add the old KEK to SAFESIGNAL_KEK_PREVIOUS_FILES and run this again") from None
    session.commit()
    click.echo(f"re-wrapped {count} TOTP secrets under {current_state().accounts.keks.current.kek_id}")
