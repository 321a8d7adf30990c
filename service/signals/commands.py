"""`safesignal signals`: territories and weekly releases."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service import per_request
from service.cli.context import current_state, parse_uuid

signals_group = click.Group("signals", help="Aggregated signals: territories and weekly releases.")


@signals_group.command("territory")
@click.argument("organisation_id")
@click.argument("municipalities", nargs=-1, required=True)
@with_appcontext
def signals_territory(organisation_id: str, municipalities: tuple[str, ...]) -> None:
    """Set the municipalities a prevention service may see (replaces its territory)."""
    from service.partners.models import Organisation
    from service.signals.services import BadTerritory, set_territory

    session = per_request.session()
    organisation = session.get(Organisation, parse_uuid(organisation_id))
    if organisation is None:
        raise click.ClickException("no such organisation")
    try:
        set_territory(session, current_state().signals, organisation, municipalities, current_state().audit, "cli")
    except BadTerritory as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"territory of {organisation.id}: {', '.join(sorted(set(municipalities)))}")


@signals_group.command("release")
@with_appcontext
def signals_release() -> None:
    """Compute every week that is due and not released yet (the scheduler does this hourly)."""
    from service.signals.jobs import release_due
    from service.signals.weeks import week_label

    weeks = release_due(current_state(), "cli")
    click.echo("released: " + (", ".join(week_label(w) for w in weeks) if weeks else "nothing due"))


@signals_group.command("calendar")
@with_appcontext
def signals_calendar() -> None:
    """The release calendar: week, release time and status."""
    from service.signals.weeks import week_label
    from service.signals.services import calendar

    state = current_state()
    with per_request.read_session() as reading:
        weeks = calendar(reading, state.signals, None, state.clock())
    for week in weeks:
        click.echo(f"{week_label(week.week)}  {week.release_at.isoformat()}  {week.status}")
