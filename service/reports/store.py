"""Where intake reads earlier submissions and writes reports: short read transactions, group commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from database.base import READ_ONLY
from database.group_commit import GroupCommit
from service.reports.models import Report, Submission
from service.signals.models import Tally


class SqlIntakeStore:
    """Intake's storage: look-ups outside any write lock, writes through a group commit."""

    def __init__(self, engine: Engine, group_commit: GroupCommit):
        self._engine = engine
        self._group_commit = group_commit

    def seen(self, key_hashes: list[bytes]) -> dict[bytes, tuple[bytes, int]]:
        """Earlier submissions among these key hashes: their content digest and redaction count."""
        if not key_hashes:
            return {}
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            rows = connection.execute(
                select(Submission.key_hash, Submission.content_digest, Submission.redactions).where(
                    Submission.key_hash.in_(key_hashes)
                )
            )
            return {bytes(row.key_hash): (bytes(row.content_digest), row.redactions) for row in rows}

    def write(
        self, reports: list[dict[str, Any]], submissions: list[dict[str, Any]], tallies: list[dict[str, Any]]
    ) -> None:
        """Store reports, their idempotency records and their tallies durably, all or nothing."""
        self._group_commit.write(
            [(Report.__table__, reports), (Submission.__table__, submissions), (Tally.__table__, tallies)]
        )
