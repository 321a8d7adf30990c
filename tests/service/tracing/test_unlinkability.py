"""What is stored cannot tie an upload to the pharmacy whose code it spent: the joins an
operator with the database could try, tried."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text
from tracing_support import FlaskTransport, granted_pharmacy

from tracing_client import api
from tracing_client.phone import Phone


def _rows(db_engine, table: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {table}"))]


def _whole_hour(value: object) -> bool:
    """A stored timestamp (a datetime on PostgreSQL, text on SQLite) on a whole hour."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)


def test_no_stored_row_ties_an_upload_to_a_pharmacy(client, partners, clock, db_engine):
    transport = FlaskTransport(client)
    pharmacies = [granted_pharmacy(partners, f"Apotheek {name}") for name in ("Noord", "Zuid", "Oost")]
    for index, (_, pharmacy) in enumerate(pharmacies + pharmacies[:1]):
        clock.advance(minutes=7)
        code = api.issue_code(transport, pharmacy, test_date="2026-11-28")
        clock.advance(minutes=3)
        token = api.exchange(transport, code)
        phone = Phone(f"phone {index}")
        for back in range(1, 15):
            phone.key_of(clock.now.date() - dt.timedelta(days=back))
        api.upload(transport, token, phone.keys_to_share(clock.now)[1:])
    organisation_ids = {organisation_id for organisation_id, _ in pharmacies}
    # As either engine returns them: hex on SQLite, a UUID on PostgreSQL.
    spellings = organisation_ids | {uuid.UUID(organisation_id).hex for organisation_id in organisation_ids}

    # The codes are gone once redeemed; the quota keeps a count per pharmacy and day only.
    assert _rows(db_engine, "verification_code") == []
    quotas = _rows(db_engine, "code_quota")
    assert sorted(row["issued"] for row in quotas) == [1, 1, 2]
    assert {uuid.UUID(str(row["organisation_id"])) for row in quotas} == {uuid.UUID(o) for o in organisation_ids}
    # Used token ids and uploads keep whole hours and days: nothing to line up with a time.
    tokens, uploads = _rows(db_engine, "used_upload_token"), _rows(db_engine, "key_upload")
    assert len(tokens) == 4 and len(uploads) == 4
    for row in tokens + uploads:
        moment = row.get("expires_at", row.get("publish_at"))
        assert _whole_hour(moment), moment
    assert {str(row["publish_at"])[:19] for row in uploads} == {"2026-11-29 11:00:00"}
    assert {str(row["epoch"]) for row in uploads} == {"2026-11-29"}
    # No table but the quota names a pharmacy beside tracing data.
    for table in ("used_upload_token", "key_upload", "redeem_failures", "export_file"):
        for row in _rows(db_engine, table):
            assert not {str(value) for value in row.values()} & spellings
    # Nor does the audit log: issuing a code is not an audited event.
    with db_engine.connect() as connection:
        kinds = {row.kind for row in connection.execute(text("SELECT kind FROM audit_entry"))}
    assert not any(kind.startswith("tracing.code") for kind in kinds)
