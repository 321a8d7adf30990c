"""Report intake: validate each report on its own, screen its note, encrypt it, store it once.

One function serves every channel (service.reports.registry), single reports and batches. It takes
typed reports, already decoded by the channel (`ReportChannel.decode`) or built by it from
something other than JSON; an item its channel could not decode arrives with its field errors. Everything one call stores is
written in one transaction (a group commit may carry other requests' writes beside it), so a
crash leaves exactly what was acknowledged, never half a report.

Idempotency: a report with a client id is stored once per (organisation, client id). A replay
with the same content gets the original result and stores nothing; the same id with other
content is a conflict. Only keyed pseudonyms of the id and content are kept. Two requests
racing with one id meet the unique key of the idempotency record: the loser runs again and
finds the winner's record.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from sqlalchemy.exc import IntegrityError

from crypto.envelope import DataKey, associated_data, encrypt
from crypto.keyring import KeyRing, KeyStore
from crypto.pseudonym import Pseudonymizer
from service.areas import AreaResolver
from service.reports.channels import Decoded, ReportChannel, ReportIn, Reporter, Undecodable
from service.reports.models import Report
from service.reports.schemas import EncryptedPayload, ReportResult
from service.screening import screen
from service.signals.weeks import WeekCalendar
from service.taxonomy import Taxonomy

PAYLOAD_VERSION = 1
SUBMISSION_DOMAIN = "submission"
CONTENT_DOMAIN = "submission-content"
REPORTER_DOMAIN = "reporter"
# Each lost race means another request stored some of this batch's ids meanwhile; a few rounds
# settle even overlapping syncs of one queue from several devices.
RACE_ATTEMPTS = 4


@dataclass(frozen=True)
class IntakeRules:
    """The deployment's intake settings."""

    window: dt.timedelta
    clock_skew: dt.timedelta
    redact_free_text: bool
    note_max_length: int = 500


class IntakeStore(Protocol):
    """Storage of intake (service.reports.store.SqlIntakeStore)."""

    def seen(self, key_hashes: list[bytes]) -> dict[bytes, tuple[bytes, int]]: ...

    def write(
        self, reports: list[dict[str, Any]], submissions: list[dict[str, Any]], tallies: list[dict[str, Any]]
    ) -> None: ...


@dataclass(frozen=True)
class Intake:
    """The collaborators intake needs; built once per app, shared by requests."""

    store: IntakeStore
    keyring: KeyRing
    keystore: KeyStore
    pseudonyms: Pseudonymizer
    taxonomy: Taxonomy
    areas: AreaResolver
    weeks: WeekCalendar  # the week a report's tally counts in
    rules: IntakeRules


def hour(value: dt.datetime) -> dt.datetime:
    """The UTC hour a moment falls in."""
    return value.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def _check(
    intake: Intake, channel: ReportChannel, report: ReportIn, reporter: Reporter, now: dt.datetime
) -> tuple[str | None, EncryptedPayload, dict[str, list[str]]]:
    """The report's area (None if it has none), its payload, and every field-level problem."""
    errors: dict[str, list[str]] = {}
    rules = intake.rules
    if not intake.taxonomy.allows(report.category, channel.name):
        errors["category"] = [f"Not a category of this deployment's taxonomy for the {channel.name} channel."]
    if report.observed_at > now + rules.clock_skew:
        errors["observed_at"] = ["Must not be in the future."]
    elif report.observed_at < now - rules.window:
        errors["observed_at"] = [f"Older than the intake window of {rules.window.total_seconds() / 3600:g} hours."]
    if report.referral_kind is not None:
        if not report.referral:
            errors["referral_kind"] = ["Only allowed when referral is true."]
        elif report.referral_kind not in intake.taxonomy.referral_kinds:
            errors["referral_kind"] = ["Not a referral kind of this deployment's taxonomy."]

    area, located = channel.locate(report, reporter, intake.areas)
    errors.update(located)

    note, redactions = report.note, 0
    if note and len(note) > rules.note_max_length:
        errors["note"] = [f"Longer than {rules.note_max_length} characters."]
    elif note:
        found = screen(note)
        if found.redactions and not rules.redact_free_text:
            kinds = ", ".join(kind.value for kind in found.kinds)
            errors["note"] = [f"Contains personal data ({kinds}); remove it and resend."]
        note, redactions = found.text, found.redactions
    payload = EncryptedPayload(
        v=PAYLOAD_VERSION,
        count=report.count,
        referral=report.referral,
        age_band=report.age_band,
        sex=report.sex,
        referral_kind=report.referral_kind,
        note=note or None,
        redactions=redactions,
    )
    return area, payload, errors


def _content_digest(pseudonyms: Pseudonymizer, category: str, area: str | None, observed: dt.datetime, payload: EncryptedPayload) -> bytes:
    """Keyed digest of a report as it is stored (area, hour, screened note), to tell a replay
    from a reuse of its client id. Never of what is not stored: the exact time and coordinates
    would otherwise be recoverable by anyone holding the key and the database."""
    stored = msgspec.json.encode([category, area, hour(observed).isoformat(), payload])
    return pseudonyms.pseudonym(CONTENT_DOMAIN, stored)


def submit(
    intake: Intake, channel: ReportChannel, reporter: Reporter, items: Sequence[Decoded], now: dt.datetime
) -> list[ReportResult]:
    """Check and store each decoded report of one reporter; return one result per item, in order."""
    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            return _submit(intake, channel, reporter, items, now)
        except IntegrityError as error:
            # A concurrent request stored one of these client ids first: look again, and the
            # earlier record answers. Any other constraint is not a race and goes up.
            if attempt == RACE_ATTEMPTS or not is_submission_race(error):
                raise
    raise AssertionError("unreachable")


def is_submission_race(error: IntegrityError) -> bool:
    """Whether the violated constraint is the idempotency record's key (PostgreSQL, SQLite)."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    return constraint == "pk_submission" or "submission.key_hash" in str(error.orig)


def _submit(
    intake: Intake, channel: ReportChannel, reporter: Reporter, items: Sequence[Decoded], now: dt.datetime
) -> list[ReportResult]:
    pseudonyms = intake.pseudonyms
    results: list[ReportResult | None] = [None] * len(items)
    # index -> (client id, key hash, content digest, row, redactions)
    pending: dict[int, tuple[str | None, bytes | None, bytes | None, dict[str, object], int]] = {}
    # index -> (key hash, content digest) of refused reports that carry a client id
    refused: dict[int, tuple[bytes, bytes]] = {}
    epoch = now.astimezone(dt.timezone.utc).date()
    received = hour(now)
    reporter_pseudonym = pseudonyms.pseudonym(REPORTER_DOMAIN, reporter.ident)[:16]
    scope = reporter.scope

    for index, report in enumerate(items):
        if isinstance(report, Undecodable):
            results[index] = ReportResult(index, "rejected", report.client_id, errors=report.errors)
            continue
        area, payload, errors = _check(intake, channel, report, reporter, now)
        key_hash = digest = None
        if report.client_id is not None:
            key_hash = pseudonyms.pseudonym(SUBMISSION_DOMAIN, scope + report.client_id.encode())
            digest = _content_digest(pseudonyms, report.category, area, report.observed_at, payload)
        if errors:
            results[index] = ReportResult(index, "rejected", report.client_id, errors=errors)
            if key_hash is not None and area is not None:
                # It may be a replay of a report stored when it was still valid (the intake
                # window has passed since, or the taxonomy changed): that gets its original answer.
                refused[index] = (key_hash, digest)  # type: ignore[assignment]
            continue
        row = {
            "data_class": channel.data_class,
            "channel": channel.name,
            "category": report.category,
            "area": area,
            "observed_hour": hour(report.observed_at),
            "received_hour": received,
            "epoch": epoch,
            "reporter": reporter_pseudonym,
            "payload": msgspec.json.encode(payload),
        }
        pending[index] = (report.client_id, key_hash, digest, row, payload.redactions)

    if not pending and not refused:
        return results  # type: ignore[return-value]

    # The data key first, in its own committed transaction (see service.vault.store).
    key = intake.keyring.key_for_epoch(intake.keystore, channel.data_class, epoch) if pending else None
    seen = intake.store.seen(
        [entry[1] for entry in pending.values() if entry[1] is not None] + [entry[0] for entry in refused.values()]
    )
    for index, (key_hash, digest) in refused.items():
        earlier = seen.get(key_hash)
        if earlier is not None and earlier[0] == digest:
            results[index] = ReportResult(index, "accepted", results[index].client_id, redactions=earlier[1])  # type: ignore[union-attr]

    reports: list[dict[str, object]] = []
    submissions: list[dict[str, object]] = []
    tallies: dict[tuple[dt.date, str, str], int] = {}
    for index, (client_id, key_hash, digest, row, redactions) in pending.items():
        if key_hash is not None:
            earlier = seen.get(key_hash)
            if earlier is not None:
                same = earlier[0] == digest
                results[index] = ReportResult(
                    index, "accepted" if same else "conflict", client_id, redactions=earlier[1] if same else 0,
                    errors=None if same else {"client_id": ["Already used for a different report."]},
                )
                continue
            seen[key_hash] = (digest, redactions)  # a repeat later in this batch is a replay
            submissions.append(
                {"key_hash": key_hash, "content_digest": digest, "redactions": redactions,
                 "received_hour": received, "epoch": epoch}
            )
        cell = (intake.weeks.week_of(row["observed_hour"]), row["area"], row["category"])  # type: ignore[arg-type]
        tallies[cell] = tallies.get(cell, 0) + 1
        reports.append(_sealed(key, row))  # type: ignore[arg-type]
        results[index] = ReportResult(index, "accepted", client_id, redactions=redactions)

    if reports:
        # The exact counts move in the same transaction as the reports: they never disagree.
        intake.store.write(reports, submissions, [
            {"week": week, "area": area, "category": category, "reporter": reporter_pseudonym, "n": n}
            for (week, area, category), n in tallies.items()
        ])
    return results  # type: ignore[return-value]  # every index has its result by now


def new_report_id(received_hour: dt.datetime) -> uuid.UUID:
    """A report id: the hour received (4 bytes, hours since 1970) then 96 random bits.

    Random ids scatter inserts over the whole primary-key index, and once the index outgrows
    memory every insert reads and writes a page somewhere in it (bench/intake.py: a 1M-row table
    took a third off raw insert speed). The hour prefix keeps each hour's inserts in one narrow,
    hot range at the end of the index. It tells nothing the clear `received_hour` column does not
    already say; ordering within the hour stays random, so ids do not reveal arrival order.
    """
    hours = int(received_hour.timestamp()) // 3600
    return uuid.UUID(bytes=hours.to_bytes(4, "big") + secrets.token_bytes(12))


def _sealed(key: DataKey, row: dict[str, object]) -> dict[str, object]:
    """The row with a fresh id and its payload encrypted, bound to this table and id."""
    report_id = new_report_id(row["received_hour"])  # type: ignore[arg-type]
    row["id"] = report_id
    row["payload"] = encrypt(key, row["payload"], associated_data(Report.__tablename__, report_id.bytes))  # type: ignore[arg-type]
    return row


def read_payload(intake: Intake, report: Report) -> EncryptedPayload:
    """Decrypt a stored report's payload (for retention checks, exports and tests)."""
    plaintext = intake.keyring.decrypt(
        intake.keystore, report.payload, associated_data(Report.__tablename__, report.id.bytes)
    )
    return msgspec.json.decode(plaintext, type=EncryptedPayload)
