"""The tracing's scheduled work: building export batches (the scheduler and `safesignal tracing
export`). Redeeming a code, which a request runs, is service.tracing.exchange's.

Each export window is read and built on a read-only connection and stored in a short write transaction
of its own: building a large window takes seconds, and on SQLite a write transaction would hold
the database's write lock, and so every upload, all that time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from database.base import READ_ONLY
from service.tracing import exports


def export_due(state: Any, actor: str) -> list[tuple[str, int]]:
    """Build every window that is due; (name, keys) of each file stored. A window another
    process stored meanwhile is kept as it is (the files' unique window and number)."""
    tracing = state.tracing
    now = state.clock()
    stored: list[tuple[str, int]] = []
    with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection, state.sessions(bind=connection) as reading:
        windows = exports.due_windows(reading, tracing.export_rules, now)
    for start, end in windows:
        with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection, state.sessions(bind=connection) as reading:
            files = exports.prepare_window(
                reading, tracing.keyring, tracing.keystore, tracing.export_signer(), tracing.export_rules, start, end, now
            )
        with state.sessions() as writing:
            writing.add_all(files)
            summary = [(file.name, file.keys) for file in files]
            try:
                writing.flush()
                state.audit(
                    writing.connection(), "tracing.exported", actor,
                    window_start=start.isoformat(), window_end=end.isoformat(), files=len(files),
                    keys=sum(count for _, count in summary),
                )
                writing.commit()
            except IntegrityError:
                writing.rollback()
                continue
            stored.extend(summary)
    return stored
