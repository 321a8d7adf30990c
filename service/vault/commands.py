"""`safesignal keys`: the key-encryption key and the data keys it wraps."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from service.cli.context import current_state

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
    """Re-wrap every data key, and every person's TOTP secret, under the current KEK. Payloads are not re-encrypted.

    The rotation, in order: `safesignal keys new-kek NEW`; restart every process with
    SAFESIGNAL_KEK_FILE=NEW and SAFESIGNAL_KEK_PREVIOUS_FILES=OLD (new data keys are wrapped
    under NEW at once, old ones stay readable); run this command (it can be repeated: keys
    already under NEW are skipped); then drop OLD from SAFESIGNAL_KEK_PREVIOUS_FILES, restart,
    and destroy OLD.
    """
    intake = current_state().intake
    keks = intake.keyring.keks
    count = intake.keyring.rewrap_all(intake.keystore, keks)
    with current_state().engine.begin() as connection:
        current_state().audit(connection, "keys.kek_rotated", "cli", kek_id=keks.current.kek_id, count=count)
    click.echo(f"re-wrapped {count} data keys under {keks.current.kek_id}")
    # People's TOTP secrets are wrapped under the KEK too: without them nobody could sign in.
    from service import per_request
    from service.people.services import rewrap_totp_secrets

    from crypto.errors import KekError

    session = per_request.session()
    try:
        secrets = rewrap_totp_secrets(session, current_state().accounts, current_state().clock())
    except KekError:
        raise click.ClickException("a person's TOTP secret is wrapped under a KEK this process does not have: "
                                   "add the old KEK to SAFESIGNAL_KEK_PREVIOUS_FILES and run this again") from None
    session.commit()
    click.echo(f"re-wrapped {secrets} people's TOTP secrets under {keks.current.kek_id}")
    if keks.kek_ids != {keks.current.kek_id}:
        click.echo("next: remove the old KEK from SAFESIGNAL_KEK_PREVIOUS_FILES, restart, then destroy it")
