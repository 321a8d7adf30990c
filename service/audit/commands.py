"""`safesignal audit`: verify the audit log, sign and print its checkpoints."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from service.cli.context import current_state, now

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
    result = current_state().retention.verify_audit(kept)
    if result.valid:
        through = f"signed through entry {result.last_checkpoint}" if result.last_checkpoint else "none signed yet"
        # checkpoints_checked counts the log's checkpoints and the kept copies together: name each.
        saved = f" and {len(kept)} kept ones from the file" if kept_file is not None else ""
        click.echo(f"valid: entries {result.first_seq}..{result.last_seq} ({result.entries_checked} checked), "
                   f"{result.checkpoints_checked - len(kept)} signed checkpoints{saved} (key {result.public_key_id}); {through}, "
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

    retention = current_state().retention
    try:
        with current_state().engine.begin() as connection:
            seq = audit_log.checkpoint(connection, retention.signer, now(), retention.policies["audit_log"].period)
    except audit_log.AuditLogBroken as error:
        raise click.ClickException(f"not signed: {error} (see `safesignal audit verify`)") from None
    click.echo(f"signed checkpoint at entry {seq}" if seq else "the head is already signed (or the log is empty)")


@audit_group.command("checkpoints")
@with_appcontext
def audit_checkpoints() -> None:
    """Print the signed checkpoints and the public key as JSON, for the DPO to keep."""
    import json

    from service.audit import log as audit_log

    with current_state().engine.connect() as connection:
        click.echo(json.dumps(audit_log.checkpoints_document(connection, current_state().retention.public_key), indent=2))
