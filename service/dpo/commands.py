"""`safesignal dpo`: what the data-protection officer reads."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service.cli.context import current_state

dpo_group = click.Group("dpo", help="What the data-protection officer reads.")


@dpo_group.command("record")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown")
@with_appcontext
def dpo_record(fmt: str) -> None:
    """Print the GDPR Art. 30 record of processing activities, from the retention policy file."""
    import json

    from retention.record import markdown, record

    data = record(current_state().retention.policies, current_state().retention.holdings)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if fmt == "json" else markdown(data), nl=fmt == "json")


@dpo_group.command("runs")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, help="How many outcomes, newest first (one run has one per data class).")
@with_appcontext
def dpo_runs(limit: int) -> None:
    """What the latest retention runs did to each data class (from the audit log)."""
    runs = current_state().retention.runs(limit)
    width = max([20, *(len(run["data_class"]) for run in runs)])  # the columns line up
    for run in runs:
        keys = f", {run['keys_destroyed']} keys destroyed" if run.get("keys_destroyed") else ""
        click.echo(f"{run['at'][:19]}Z  {run['data_class']:<{width}} {run['action']:<9} {run['rows']:>8} rows{keys}  "
                   f"{run['duration_ms']} ms  {run['outcome']}{': ' + run['error'] if run.get('error') else ''}")


@dpo_group.command("inventory")
@with_appcontext
def dpo_inventory() -> None:
    """Records per data class and epoch (UTC day), no content, and whether the epoch's key lives."""
    rows = current_state().retention.inventory()
    width = max([20, *(len(row["data_class"]) for row in rows)])  # the columns line up
    for row in rows:
        click.echo(f"{row['data_class']:<{width}} {row['epoch']}  {row['age_days']:>4} days  {row['records']:>9} records  key {row['key']}")
