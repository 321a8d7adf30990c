"""The `safesignal` command: the operator's entry point (a Flask CLI group).

Tokens and enrollment codes are printed once, when created, and never again: only their hashes
are stored.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from service import per_request
from service.config import ConfigError


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _now() -> dt.datetime:
    return _state().clock()


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter("not an id (a UUID as `list` prints it)") from None


# --- db ---------------------------------------------------------------------------------------

db_group = click.Group("db", help="Database schema (Alembic migrations).")


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head) to the database, and the key vault to its head."""
    from service.migrations import upgrade

    upgrade(_state().engine, revision)
    upgrade(_state().keys_engine, "head", target="keys")
    click.echo(f"database at {revision} ({_state().engine.dialect.name}); key vault at head ({_state().keys_engine.dialect.name})")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the migration revision of the database and of the key vault."""
    from service.migrations import current_revision

    click.echo(f"database: {current_revision(_state().engine) or '(empty database)'}")
    click.echo(f"key vault: {current_revision(_state().keys_engine) or '(empty database)'}")


# --- partners ---------------------------------------------------------------------------------

partners_group = click.Group("partners", help="Partner organisations and their API tokens.")


@partners_group.command("add")
@click.option("--kind", required=True, type=click.Choice(["pharmacy", "field_service", "prevention_service", "dpo_office", "operator"]))
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
    from service.partners.services import OrganisationKind, PartnerError, add_organisation, issue_credential
    from service.signals.services import BadTerritory, set_territory

    if area is not None and area not in _state().intake.areas:
        raise click.BadParameter("not an area of this deployment", param_hint="--area")
    if municipalities and kind != OrganisationKind.PREVENTION_SERVICE:
        raise click.BadParameter("only a prevention service has a territory", param_hint="--municipality")
    session = per_request.session()
    try:
        organisation = add_organisation(session, kind=OrganisationKind(kind), name=name, area=area, now=_now())
        if municipalities:
            set_territory(session, _state().signals, organisation, municipalities, _state().audit, "cli")
        token = None
        if kind != OrganisationKind.FIELD_SERVICE:
            _, token = issue_credential(session, organisation, label=label, now=_now())
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
    from service.partners.services import OrganisationKind, PartnerError, issue_credential

    session = per_request.session()
    organisation = session.get(Organisation, _uuid(organisation_id))
    if organisation is None or organisation.kind == OrganisationKind.FIELD_SERVICE:
        raise click.ClickException("no such organisation (field services enroll devices instead)")
    try:
        _, token = issue_credential(session, organisation, label=label, now=_now())
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
        tracing = "  (issues tracing codes)" if organisation.tracing_granted_at else ""
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
        what = revoke(session, _uuid(ident), now=_now())
    except PartnerError as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"revoked {what} {ident}")


# --- devices ----------------------------------------------------------------------------------

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
        record, code = issue_code(session, _state().pseudonyms, _uuid(organisation_id), label=label, now=_now(), ttl=ttl)
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

    for credential in list_devices(per_request.session(), _uuid(organisation_id) if organisation_id else None):
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
    credential = session.get(Credential, _uuid(device_id))
    if credential is None or credential.role != "field_device":
        raise click.ClickException("no device with that id")
    revoke(session, credential.id, now=_now())
    session.commit()
    click.echo(f"revoked device {device_id}")


# --- areas ------------------------------------------------------------------------------------


@click.command("areas")
@with_appcontext
def areas() -> None:
    """List the deployment's area codes (for a pharmacy's --area), with name and district."""
    for area in _state().intake.areas.areas():
        click.echo(f"{area.code:<28} {area.district or '-':<28} {area.name}")


# --- keys -------------------------------------------------------------------------------------

keys_group = click.Group("keys", help="Key-encryption key and data keys.")


@keys_group.command("new-kek")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keys_new_kek(path: Path) -> None:
    """Create a new key-encryption key file (mode 0600); it never overwrites a file."""
    from crypto.kek import LocalKek

    try:
        kek = LocalKek.generate_file(path)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; choose another name") from None
    click.echo(f"created {kek.kek_id} in {path}")


@keys_group.command("rotate-kek")
@with_appcontext
def keys_rotate_kek() -> None:
    """Re-wrap every data key under the current KEK. Payloads are not re-encrypted.

    The rotation, in order: `safesignal keys new-kek NEW`; restart every process with
    SAFESIGNAL_KEK_FILE=NEW and SAFESIGNAL_KEK_PREVIOUS_FILES=OLD (new data keys are wrapped
    under NEW at once, old ones stay readable); run this command (it can be repeated: keys
    already under NEW are skipped); then drop OLD from SAFESIGNAL_KEK_PREVIOUS_FILES, restart,
    and destroy OLD.
    """
    intake = _state().intake
    keks = intake.keyring.keks
    count = intake.keyring.rewrap_all(intake.keystore, keks)
    with _state().engine.begin() as connection:
        _state().audit(connection, "keys.kek_rotated", "cli", kek_id=keks.current.kek_id, count=count)
    click.echo(f"re-wrapped {count} data keys under {keks.current.kek_id}")
    if keks.kek_ids != {keks.current.kek_id}:
        click.echo("next: remove the old KEK from SAFESIGNAL_KEK_PREVIOUS_FILES, restart, then destroy it")


# --- demo -------------------------------------------------------------------------------------


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create demo partners (once) and print fresh demo tokens and an enrollment code.

    Development only. Each run revokes the previous demo tokens and prints new ones.
    """
    from service.demo import setup_demo

    if current_app.config["ENV"] != "development":
        raise click.ClickException("demo partners are for development mode only")
    for line in setup_demo(per_request.session(), _state(), _now()):
        click.echo(line)


# --- retention, audit, DPO, scheduler -----------------------------------------------------------

retention_group = click.Group("retention", help="Retention: shred, delete and anonymise what is past its period.")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_appcontext
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Run retention once, now (the scheduler does this every SAFESIGNAL_RETENTION_INTERVAL_MINUTES)."""
    import json

    outcome = _state().retention.run(dry_run=dry_run, actor="cli")
    if as_json:
        click.echo(json.dumps(outcome.as_json(), indent=2))
    elif outcome.skipped:
        click.echo(f"skipped: {outcome.skipped}")
    else:
        for result in outcome.classes:
            verb = ("would " if dry_run else "") + ("anonymise" if result.action == "anonymise" else "remove")
            verb += "" if dry_run else "d"
            keys = f", {result.keys_destroyed} keys destroyed" if result.keys_destroyed else ""
            click.echo(f"{result.data_class:<20} {result.action:<9} {verb} {result.rows} rows{keys}"
                       f" (older than {result.cutoff[:19]}Z) {result.outcome}{': ' + result.error if result.error else ''}")
    if any(result.outcome == "error" for result in outcome.classes):
        sys.exit(1)


@retention_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@with_appcontext
def retention_status(as_json: bool) -> None:
    """Compliance per data class: oldest record against its period, and anything overdue."""
    import json
    from dataclasses import asdict

    statuses = _state().retention.status()
    vault = _state().retention.vault_status()
    if as_json:
        # The shape of the DPO's compliance view (GET /v1/dpo/retention/compliance).
        click.echo(json.dumps({
            "compliant": all(status.compliant for status in statuses) and vault.compliant,
            "data_classes": [asdict(status) for status in statuses],
            "vault": {"pending_keys": vault.pending_keys, "pending_since": vault.pending_since, "compliant": vault.compliant},
        }, indent=2))
    else:
        click.echo(f"{'data class':<20} {'period':>7} {'records':>9} {'oldest':>9} {'overdue':>8}  state")
        for status in statuses:
            oldest = f"{status.oldest_age_days:.1f}d" if status.oldest_age_days is not None else "-"
            overdue = status.past_period + status.live_keys_past_period
            state = "ok" if status.compliant else "OVERDUE: run `safesignal retention run`"
            click.echo(f"{status.data_class:<20} {status.period_days:>6}d {status.records:>9} {oldest:>9} {overdue:>8}  {state}")
        if vault.pending_keys:
            state = "pending" if vault.compliant else "OVERDUE: a reader holds the vault; see the README, Retention"
            click.echo(f"key vault files: {vault.pending_keys} destroyed keys not yet erased, since "
                       f"{vault.pending_since[:19]}Z  {state}")  # type: ignore[index]
        else:
            click.echo("key vault files: no destroyed key left in them")
    if not all(status.compliant for status in statuses) or not vault.compliant:
        sys.exit(1)


audit_group = click.Group("audit", help="The hash-chained audit log and its signed checkpoints.")


@audit_group.command("verify")
@click.option("--checkpoints", "kept_file", type=click.File("r"), default=None,
              help="Checkpoints saved earlier (JSON from `audit checkpoints` or the DPO API); each must still match.")
@with_appcontext
def audit_verify(kept_file) -> None:  # type: ignore[no-untyped-def]
    """Check every entry, its MAC, the chain's head and every checkpoint; name the first broken entry.

    "valid" vouches for the entries up to the last checkpoint; it says how many come after it
    (chained and MACed, not yet signed) and how many predate MACs.
    """
    import json

    from service.audit import log as audit_log

    kept = []
    if kept_file is not None:
        try:
            data = json.load(kept_file)
            items = data["checkpoints"] if isinstance(data, dict) else data
            kept = [audit_log.Checkpoint.from_json(item) for item in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise click.ClickException("the checkpoints file is not a list of checkpoints as `audit checkpoints` prints them") from None
    result = _state().retention.verify_audit(kept)
    if result.valid:
        through = f"signed through entry {result.last_checkpoint}" if result.last_checkpoint else "none signed yet"
        click.echo(f"valid: entries {result.first_seq}..{result.last_seq} ({result.entries_checked} checked), "
                   f"{result.checkpoints_checked} signed checkpoints (key {result.public_key_id}); {through}, "
                   f"{result.unsigned_entries} entries after the last checkpoint (not yet signed)")
        for note in result.notes:
            click.echo(f"  note: {note}")
        return
    click.echo(f"BROKEN at entry {result.broken_at}: {result.problem}", err=True)
    for problem in result.problems[1:]:
        click.echo(f"  also {problem}", err=True)
    sys.exit(1)


@audit_group.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Verify the log, then sign a checkpoint of its head (the scheduler does this periodically)."""
    from service.audit import log as audit_log

    retention = _state().retention
    try:
        with _state().engine.begin() as connection:
            seq = audit_log.checkpoint(connection, retention.signer, _now(), retention.policies["audit_log"].period)
    except audit_log.AuditLogBroken as error:
        raise click.ClickException(f"not signed: {error} (see `safesignal audit verify`)") from None
    click.echo(f"signed checkpoint at entry {seq}" if seq else "the head is already signed (or the log is empty)")


@audit_group.command("checkpoints")
@with_appcontext
def audit_checkpoints() -> None:
    """Print the signed checkpoints and the public key as JSON, for the DPO to keep."""
    import json

    from service.audit import log as audit_log

    with _state().engine.connect() as connection:
        click.echo(json.dumps(audit_log.checkpoints_document(connection, _state().retention.public_key), indent=2))


dpo_group = click.Group("dpo", help="What the data-protection officer reads.")


@dpo_group.command("record")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown")
@with_appcontext
def dpo_record(fmt: str) -> None:
    """Print the GDPR Art. 30 record of processing activities, from the retention policy file."""
    import json

    from retention.record import markdown, record

    data = record(_state().retention.policies, _state().retention.holdings)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if fmt == "json" else markdown(data), nl=fmt == "json")


@dpo_group.command("runs")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, help="How many outcomes, newest first.")
@with_appcontext
def dpo_runs(limit: int) -> None:
    """What the latest retention runs did to each data class (from the audit log)."""
    for run in _state().retention.runs(limit):
        keys = f", {run['keys_destroyed']} keys destroyed" if run.get("keys_destroyed") else ""
        click.echo(f"{run['at'][:19]}Z  {run['data_class']:<20} {run['action']:<9} {run['rows']:>8} rows{keys}  "
                   f"{run['duration_ms']} ms  {run['outcome']}{': ' + run['error'] if run.get('error') else ''}")


@dpo_group.command("inventory")
@with_appcontext
def dpo_inventory() -> None:
    """Records per data class and epoch (UTC day), no content, and whether the epoch's key lives."""
    for row in _state().retention.inventory():
        click.echo(f"{row['data_class']:<20} {row['epoch']}  {row['age_days']:>4} days  {row['records']:>9} records  key {row['key']}")


# --- signals --------------------------------------------------------------------------------

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
    organisation = session.get(Organisation, _uuid(organisation_id))
    if organisation is None:
        raise click.ClickException("no such organisation")
    try:
        set_territory(session, _state().signals, organisation, municipalities, _state().audit, "cli")
    except BadTerritory as error:
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"territory of {organisation.id}: {', '.join(sorted(set(municipalities)))}")


@signals_group.command("release")
@with_appcontext
def signals_release() -> None:
    """Compute every week that is due and not released yet (the scheduler does this hourly)."""
    from service.signals.jobs import release_due
    from service.signals.release import week_label

    weeks = release_due(_state(), "cli")
    click.echo("released: " + (", ".join(week_label(w) for w in weeks) if weeks else "nothing due"))


@signals_group.command("calendar")
@with_appcontext
def signals_calendar() -> None:
    """The release calendar: week, release time and status."""
    from service.signals.release import week_label
    from service.signals.services import calendar

    state = _state()
    with per_request.read_session() as reading:
        weeks = calendar(reading, state.signals, None, state.clock())
    for week in weeks:
        click.echo(f"{week_label(week.week)}  {week.release_at.isoformat()}  {week.status}")


tracing_group = click.Group("tracing", help="Contact tracing: pharmacies that issue codes, export batches, the signing key.")


def _set_tracing(organisation_id: str, allowed: bool) -> None:
    from service.tracing import codes

    session = per_request.session()
    try:
        if allowed:
            organisation, changed = codes.grant(session, _uuid(organisation_id), now=_now())
        else:
            organisation, changed = codes.withdraw(session, _uuid(organisation_id))
    except codes.NotPermitted as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    if changed:  # granting twice is one grant in the audit log
        session.flush()
        _state().audit(session.connection(), "tracing.granted" if allowed else "tracing.withdrawn", "cli",
                       organisation_id=str(organisation.id))
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
        files = export_due(_state(), "cli")
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

    tracing = _state().tracing
    try:
        key = tracing.export_signer().public_key()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    info = tracing.export_rules.info
    # The PEM alone on stdout, so that it can go straight to a file; what names it on stderr.
    click.echo(f"verification_key_id={info.key_id} verification_key_version={info.key_version} "
               "signature_algorithm=1.2.840.10045.4.3.2", err=True)
    click.echo(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(), nl=False)


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the retention and checkpoint jobs until stopped (one such process per deployment)."""
    from service.scheduler import serve

    try:
        _state().retention.signer  # it signs checkpoints: fail now, not at the first one
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    serve(_state(), current_app.config)


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app's CLI."""
    for command in (db_group, partners_group, devices_group, areas, keys_group, retention_group, audit_group, dpo_group,
                    signals_group, tracing_group, scheduler, demo):
        app.cli.add_command(command)


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
