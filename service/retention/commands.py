"""`safesignal retention`: run retention now, and say whether every data class is within its period."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from service.cli.context import current_state

retention_group = click.Group("retention", help="Retention: shred, delete and anonymise what is past its period.")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_appcontext
def retention_run(dry_run: bool, as_json: bool) -> None:
    """Run retention once, now (the scheduler does this every SAFESIGNAL_RETENTION_INTERVAL_MINUTES)."""
    import json

    outcome = current_state().retention.run(dry_run=dry_run, actor="cli")
    if as_json:
        click.echo(json.dumps(outcome.as_json(), indent=2))
    elif outcome.skipped:
        click.echo(f"skipped: {outcome.skipped}")
    else:
        # As wide as the longest class name (privacy_budget_ledger), so the columns line up.
        width = max([20, *(len(result.data_class) for result in outcome.classes)])
        for result in outcome.classes:
            verb = ("would " if dry_run else "") + ("anonymise" if result.action == "anonymise" else "remove")
            verb += "" if dry_run else "d"
            keys = f", {result.keys_destroyed} keys destroyed" if result.keys_destroyed else ""
            click.echo(f"{result.data_class:<{width}} {result.action:<9} {verb} {result.rows} rows{keys}"
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

    statuses = current_state().retention.status()
    vault = current_state().retention.vault_status()
    if as_json:
        # The shape of the DPO's compliance view (GET /v1/dpo/retention/compliance).
        click.echo(json.dumps({
            "compliant": all(status.compliant for status in statuses) and vault.compliant,
            "data_classes": [asdict(status) for status in statuses],
            "vault": {"pending_keys": vault.pending_keys, "pending_since": vault.pending_since, "compliant": vault.compliant},
        }, indent=2))
    else:
        width = max([20, *(len(status.data_class) for status in statuses)])
        click.echo(f"{'data class':<{width}} {'period':>7} {'records':>9} {'oldest':>9} {'overdue':>8}  state")
        for status in statuses:
            oldest = f"{status.oldest_age_days:.1f}d" if status.oldest_age_days is not None else "-"
            overdue = status.past_period + status.live_keys_past_period
            state = "ok" if status.compliant else "OVERDUE: run `safesignal retention run`"
            click.echo(f"{status.data_class:<{width}} {status.period_days:>6}d {status.records:>9} {oldest:>9} {overdue:>8}  {state}")
        if vault.pending_keys:
            state = "pending" if vault.compliant else "OVERDUE: a reader holds the vault; see the README, Retention"
            click.echo(f"key vault files: {vault.pending_keys} destroyed keys not yet erased, since "
                       f"{vault.pending_since[:19]}Z  {state}")  # type: ignore[index]
        else:
            click.echo("key vault files: no destroyed key left in them")
    if not all(status.compliant for status in statuses) or not vault.compliant:
        sys.exit(1)
