"""The audit log in the service: what writes it, what it may hold, and what verification catches.

Every test runs on SQLite and on PostgreSQL. The log is made the way production makes it (partners
and credentials through the operator's CLI, reports over HTTP, `safesignal retention run`,
`safesignal audit checkpoint`); tampering is done as an operator with database access would do
it, with SQL on the tables, and must be caught by `service.audit.log.verify` and by
`safesignal audit verify`, which name the first broken entry.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import bearer
from sqlalchemy import Engine, select, text, update

from crypto.audit import GENESIS, CheckpointSigner, EntryAuthenticator, entry_hash
from crypto.secrets import decode_secret
from service.audit import log as audit_log
from service.audit.log import DETAIL_KEYS, AuditDetailError, Checkpoint, Verification
from service.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from service.partners.models import Credential
from service.reports.models import Report, Submission

# --- helpers --------------------------------------------------------------------------------------


def _state(app):  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"]


def _signer(app) -> CheckpointSigner:  # type: ignore[no-untyped-def]
    return _state(app).retention.signer


def _verify(app, kept: list[Checkpoint] | None = None) -> Verification:  # type: ignore[no-untyped-def]
    with _state(app).engine.connect() as connection:
        return audit_log.verify(connection, _signer(app).public_key, kept or ())


def _cli(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def _entries(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)))


def _seqs(engine: Engine) -> list[int]:
    return [entry.seq for entry in _entries(engine)]


def _head(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(AuditHead.__table__)).one()


def _checkpoint_seqs(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).scalars())


def _sql(engine: Engine, statement: str, **params: Any) -> int:
    with engine.begin() as connection:
        return connection.execute(text(statement), params).rowcount


def _credential_ids(engine: Engine, organisation_id: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Credential.id).where(Credential.organisation_id == uuid.UUID(organisation_id)).order_by(Credential.created_at)
        ).scalars()
        return [str(row) for row in rows]


def _details(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEntry.detail).where(AuditEntry.kind == kind).order_by(AuditEntry.seq)).scalars()
        return [json.loads(row) for row in rows]


def assert_valid(app) -> Verification:  # type: ignore[no-untyped-def]
    result = _verify(app)
    assert result.valid, result.problems
    assert result.broken_at is None and result.problems == []
    cli = _cli(app, "audit", "verify")
    assert cli.exit_code == 0, cli.output
    assert cli.output.startswith(f"valid: entries {result.first_seq}..{result.last_seq} ({result.entries_checked} checked)")
    return result


def assert_broken_at(app, seq: int, problem: str, *, kept_file: Path | None = None, attack: str = "") -> Verification:  # type: ignore[no-untyped-def]
    """Both the function and the CLI find the log broken, first at entry `seq`, for `problem`."""
    kept = _load_kept(kept_file) if kept_file else None
    result = _verify(app, kept)
    assert not result.valid, attack
    assert result.broken_at == seq, (attack, result.problems)
    assert problem in (result.problem or ""), (attack, result.problems)
    args = ["audit", "verify"] + (["--checkpoints", str(kept_file)] if kept_file else [])
    cli = _cli(app, *args)
    assert cli.exit_code == 1, (attack, cli.output)
    assert cli.stderr.startswith(f"BROKEN at entry {seq}: {result.problem}\n"), (attack, cli.stderr)
    assert "valid" not in cli.stdout, attack
    return result


def _save_checkpoints(app, path: Path) -> Path:  # type: ignore[no-untyped-def]
    """What the DPO does: `safesignal audit checkpoints > file`."""
    cli = _cli(app, "audit", "checkpoints")
    assert cli.exit_code == 0, cli.output
    document = json.loads(cli.stdout)
    assert document["key_id"] == _signer(app).key_id and document["public_key"] == _signer(app).public_key.hex()
    path.write_text(cli.stdout, encoding="utf-8")
    return path


def _load_kept(path: Path) -> list[Checkpoint]:
    return [Checkpoint.from_json(item) for item in json.loads(path.read_text(encoding="utf-8"))["checkpoints"]]


def _real_log(app, partners, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A log as an operator makes it, with two signed checkpoints; return what a test needs to know.

    credentials issued and revoked (CLI), a retention run (CLI, it signs a checkpoint at its last
    entry), then more credential events and `audit checkpoint`, then one more entry left unsigned.
    """
    engine = _state(app).engine
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek De Linde", partners.area())
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 2")
    clock.advance(minutes=1)
    analyst_id, _ = partners.add("prevention_service", "Preventiedienst")
    clock.advance(minutes=1)
    partners.run("partners", "revoke", _credential_ids(engine, pharmacy_id)[1])
    clock.advance(minutes=1)
    partners.run("partners", "revoke", analyst_id)
    clock.advance(minutes=1)
    partners.run("retention", "run")
    first_checkpoint = _head(engine).seq
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 3")
    clock.advance(minutes=1)
    partners.run("partners", "revoke", _credential_ids(engine, pharmacy_id)[2])
    clock.advance(minutes=1)
    assert partners.run("audit", "checkpoint").startswith("signed checkpoint at entry")
    second_checkpoint = _head(engine).seq
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 4")
    last = _head(engine).seq
    assert _checkpoint_seqs(engine) == [first_checkpoint, second_checkpoint]
    assert _seqs(engine) == list(range(1, last + 1))
    assert last == second_checkpoint + 1 and second_checkpoint > first_checkpoint + 1 > 7
    return {"first_checkpoint": first_checkpoint, "second_checkpoint": second_checkpoint, "last": last}


@pytest.fixture
def real_log(app, partners, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return _real_log(app, partners, clock)


def _mac_key(app) -> EntryAuthenticator:  # type: ignore[no-untyped-def]
    """The audit MAC key, as an insider who holds the service's secrets has it."""
    return EntryAuthenticator(decode_secret(str(app.config["AUDIT_MAC_KEY"])))


def _remac(engine: Engine, key: EntryAuthenticator, **head: Any) -> None:
    """What an insider holding the MAC key can do after tampering: MAC every entry and the head
    (with `head` changed) again, so that the MACs hide nothing."""
    with engine.begin() as connection:
        for row in connection.execute(select(AuditEntry.seq, AuditEntry.hash)).all():
            connection.execute(update(AuditEntry).where(AuditEntry.seq == row.seq).values(mac=key.entry_mac(row.hash)))
        row = connection.execute(select(AuditHead.__table__)).one()
        values = {name: head.get(name, getattr(row, name)) for name in ("seq", "hash", "base_seq", "base_hash", "mac_from", "checkpointed")}
        connection.execute(update(AuditHead).values(mac=key.head_mac(*values.values()), **values))


def _rewrite_history(engine: Engine, seq: int, detail: str, key: EntryAuthenticator | None = None) -> dict[int, bytes]:
    """The operator's attack: change entry `seq`, re-hash it and every entry after it, move the head.

    Nothing secret is needed for the hashes (they have no key); the MACs need the MAC key, so
    without `key` the MACs catch it at `seq`. With it (an insider holding the service's secrets)
    only signed checkpoints can. Return the new hashes by seq.
    """
    hashes = {}
    with engine.begin() as connection:
        rows = connection.execute(select(AuditEntry.__table__).where(AuditEntry.seq >= seq - 1).order_by(AuditEntry.seq)).all()
        prev = rows[0].hash if rows[0].seq == seq - 1 else GENESIS
        for row in rows:
            if row.seq < seq:
                continue
            new_detail = detail if row.seq == seq else row.detail
            digest = entry_hash(prev, row.seq, row.at, row.kind, row.actor, new_detail)
            connection.execute(
                update(AuditEntry).where(AuditEntry.seq == row.seq).values(detail=new_detail, prev_hash=prev, hash=digest)
            )
            hashes[row.seq] = prev = digest
        connection.execute(update(AuditHead).values(hash=prev))
    if key is not None:
        _remac(engine, key)
    return hashes


# --- what is written ------------------------------------------------------------------------------


def test_an_intact_log_verifies_with_its_checkpoints(app, real_log, tmp_path):
    result = assert_valid(app)
    assert (result.first_seq, result.last_seq, result.entries_checked) == (1, real_log["last"], real_log["last"])
    assert result.checkpoints_checked == 2 and result.last_checkpoint == real_log["second_checkpoint"]
    assert result.public_key_id == _signer(app).key_id
    kept = _save_checkpoints(app, tmp_path / "checkpoints.json")
    assert len(_load_kept(kept)) == 2
    cli = _cli(app, "audit", "verify", "--checkpoints", str(kept))
    # The log's two and the file's two, each counted once (not "4 signed checkpoints").
    assert cli.exit_code == 0 and "2 signed checkpoints and 2 kept ones from the file (key" in cli.stdout, cli.output


def test_every_credential_key_and_retention_event_is_an_entry(app, client, partners, clock, db_engine):
    pharmacy_id, pharmacy_token = partners.add("pharmacy", "Apotheek De Linde", partners.area())
    partners.run("partners", "token", pharmacy_id, "--label", "counter 2")
    field_id, _ = partners.add("field_service", "Straathoekwerk")
    device_token = partners.device(client, field_id)
    device_id = _credential_ids(db_engine, field_id)[0]
    response = client.post("/v1/pharmacy/reports", headers=bearer(pharmacy_token), json={
        "category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=5)).isoformat()})
    assert response.status_code == 201, response.get_json()
    assert device_token
    partners.run("devices", "revoke", device_id)
    partners.run("partners", "revoke", pharmacy_id)
    partners.run("keys", "rotate-kek")
    clock.advance(days=40)  # the report's epoch key is past its 35 days
    partners.run("retention", "run")

    issued = _details(db_engine, "credential.issued")
    pharmacy_credentials = _credential_ids(db_engine, pharmacy_id)
    assert [d["credential_id"] for d in issued] == [*pharmacy_credentials, device_id]
    assert [d["role"] for d in issued] == ["pharmacy", "pharmacy", "field_device"]
    revoked = _details(db_engine, "credential.revoked")
    assert [d["credential_id"] for d in revoked] == [device_id, *pharmacy_credentials]
    assert _details(db_engine, "organisation.revoked") == [{"organisation_id": pharmacy_id}]
    (rotation, secrets) = _details(db_engine, "keys.kek_rotated")
    # One KEK only: the one data key is already wrapped under it and is skipped; so are
    # people's TOTP secrets (there are none here), in an entry of their own.
    current = _state(app).intake.keyring.keks.current.kek_id
    assert rotation == {"count": 0, "kek_id": current}
    assert secrets == {"count": 0, "kek_id": current, "what": "person_totp"}
    (destroyed,) = _details(db_engine, "keys.destroyed")
    assert destroyed["data_class"] == "pharmacy_reports" and destroyed["count"] == 1 and len(destroyed["key_ids"]) == 1
    purged = _details(db_engine, "retention.purged")
    assert len({d["run_id"] for d in purged}) == 1
    assert "audit_log" in {d["data_class"] for d in purged} and len(purged) == len({d["data_class"] for d in purged}) >= 9
    assert next(d for d in purged if d["data_class"] == "pharmacy_reports")["keys_destroyed"] == 1
    actors = {entry.kind: entry.actor for entry in _entries(db_engine)}
    assert actors["retention.purged"] == "cli"
    with db_engine.connect() as connection:
        enrollment_actor = connection.execute(
            select(AuditEntry.actor).where(AuditEntry.kind == "credential.issued", AuditEntry.detail.contains(device_id))
        ).scalar_one()
    assert enrollment_actor == "enrollment"
    assert _checkpoint_seqs(db_engine) == [_head(db_engine).seq]  # the run signed its last entry
    assert_valid(app)


def test_refreshing_the_demo_tokens_audits_the_revocations(app, partners, db_engine):
    partners.run("demo")
    partners.run("demo")  # revokes the first run's demo tokens and issues new ones
    with db_engine.connect() as connection:
        revoked = set(map(str, connection.execute(select(Credential.id).where(Credential.revoked_at.is_not(None))).scalars()))
    assert len(revoked) == 3
    assert {d["credential_id"] for d in _details(db_engine, "credential.revoked")} == revoked


def test_an_entry_is_committed_with_its_change_or_not_at_all(app, db_engine, clock):
    with pytest.raises(RuntimeError):
        with db_engine.begin() as connection:
            assert audit_log.append(connection, kind="test.event", actor="test", detail={"count": 1}, at=clock()) == 1
            raise RuntimeError("the change it records failed")
    assert _entries(db_engine) == [] and _head(db_engine).seq == 0
    with db_engine.begin() as connection:
        assert audit_log.append(connection, kind="test.event", actor="test", detail={"count": 2}, at=clock()) == 1
    assert_valid(app)


def test_a_checkpoint_of_an_already_signed_head_or_an_empty_log_signs_nothing(app, partners, db_engine):
    assert partners.run("audit", "checkpoint").startswith("the head is already signed (or the log is empty)")
    partners.pharmacy()
    assert partners.run("audit", "checkpoint") == "signed checkpoint at entry 1\n"
    assert partners.run("audit", "checkpoint").startswith("the head is already signed")
    assert _checkpoint_seqs(db_engine) == [1]


# --- tampering ----------------------------------------------------------------------------------
#
# Each test below makes one real log, then tries several attacks on it in turn: the database is put
# back exactly as it was between attacks (and shown to verify again), so every attack meets the
# same log and none hides another.


def _snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {table.name: [dict(row._mapping) for row in connection.execute(select(table))]
                for table in (AuditEntry.__table__, AuditCheckpoint.__table__, AuditHead.__table__)}


def _restore(app, snapshot: dict[str, list[dict[str, Any]]]) -> None:  # type: ignore[no-untyped-def]
    with _state(app).engine.begin() as connection:
        for table in (AuditEntry.__table__, AuditCheckpoint.__table__, AuditHead.__table__):
            connection.execute(table.delete())
            connection.execute(table.insert(), snapshot[table.name])
    assert _verify(app).valid


def _update_entry(engine: Engine, seq: int, **values: Any) -> None:
    with engine.begin() as connection:
        assert connection.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**values)).rowcount == 1


def test_an_edited_entry_is_named(app, real_log, db_engine):
    snapshot = _snapshot(db_engine)
    revoked = next(e for e in _entries(db_engine) if e.kind == "credential.revoked")
    seq = revoked.seq
    attacks = {
        "detail": lambda: _sql(db_engine, "UPDATE audit_entry SET detail = REPLACE(detail, 'pharmacy', 'analyst') WHERE seq = :seq", seq=seq),
        "detail emptied": lambda: _sql(db_engine, "UPDATE audit_entry SET detail = '{}' WHERE seq = :seq", seq=seq),
        "same JSON, other text": lambda: _sql(db_engine, "UPDATE audit_entry SET detail = REPLACE(detail, ',', ', ') WHERE seq = :seq", seq=seq),
        "kind": lambda: _sql(db_engine, "UPDATE audit_entry SET kind = 'credential.issued' WHERE seq = :seq", seq=seq),
        "actor": lambda: _sql(db_engine, "UPDATE audit_entry SET actor = 'scheduler' WHERE seq = :seq", seq=seq),
        "time, a microsecond earlier": lambda: _update_entry(db_engine, seq, at=revoked.at - dt.timedelta(microseconds=1)),
    }
    for attack, tamper in attacks.items():
        assert tamper() in (1, None), attack
        assert _entries(db_engine)[seq - 1] != revoked, attack
        assert_broken_at(app, seq, "altered: its content does not match its hash", attack=attack)
        _restore(app, snapshot)
    # Its stored hash replaced: the entry no longer matches it, and the next one no longer follows.
    _sql(db_engine, "UPDATE audit_entry SET hash = :digest WHERE seq = :seq", digest=bytes(32), seq=seq)
    result = assert_broken_at(app, seq, "altered: its content does not match its hash")
    assert f"entry {seq + 1}: does not follow the entry before it (removed or reordered)" in result.problems


def test_a_deleted_entry_is_named(app, real_log, db_engine):
    snapshot = _snapshot(db_engine)
    signed = real_log["first_checkpoint"]
    for first, last in ((1, 1), (5, 5), (signed - 1, signed)):
        assert _sql(db_engine, "DELETE FROM audit_entry WHERE seq BETWEEN :a AND :b", a=first, b=last) == last - first + 1
        assert_broken_at(app, first, f"missing: the next entry is {last + 1}", attack=f"deleted {first}..{last}")
        _restore(app, snapshot)


def test_a_truncated_log_is_named(app, real_log, db_engine, tmp_path):
    kept = _save_checkpoints(app, tmp_path / "checkpoints.json")
    snapshot = _snapshot(db_engine)
    last, signed = real_log["last"], real_log["second_checkpoint"]

    def truncate(keep: int, *, rewind: bool = False, drop_checkpoints: bool = False) -> None:
        assert _sql(db_engine, "DELETE FROM audit_entry WHERE seq > :seq", seq=keep) == last - keep
        if drop_checkpoints:
            _sql(db_engine, "DELETE FROM audit_checkpoint WHERE seq > :seq", seq=keep)
        if rewind:
            new_last = _entries(db_engine)[-1]
            _sql(db_engine, "UPDATE audit_head SET seq = :seq, hash = :digest", seq=new_last.seq, digest=new_last.hash)

    # The last three entries deleted: the head still names the old end.
    truncate(last - 3)
    assert_broken_at(app, last - 2, f"the log ends at {last - 3} but its head says {last}: entries were removed")
    _restore(app, snapshot)
    # ...and the head rewound to the new end: the checkpoint signed at `signed` is past it.
    truncate(signed - 2, rewind=True)
    assert_broken_at(app, signed - 1, f"a signed checkpoint covers entry {signed}, past the end of the log")
    _restore(app, snapshot)
    # ...and the checkpoints past the new end deleted too: the head, moved without the MAC key, says so.
    keep = real_log["first_checkpoint"] + 1
    truncate(keep, rewind=True, drop_checkpoints=True)
    assert_broken_at(app, keep + 1, "the log's head was changed without the audit MAC key")
    # An insider holding the MAC key makes the head consistent again (and forgets the
    # checkpoints signed since): only a copy of the checkpoints kept elsewhere can tell.
    _remac(db_engine, _mac_key(app), checkpointed=real_log["first_checkpoint"])
    assert _verify(app).valid
    assert_broken_at(app, keep + 1, f"a signed checkpoint covers entry {signed}, past the end of the log", kept_file=kept)


def test_reordered_entries_are_named(app, real_log, db_engine):
    snapshot = _snapshot(db_engine)
    for a, b in ((4, 5), (4, 7), (real_log["first_checkpoint"], real_log["second_checkpoint"])):
        _sql(db_engine, "UPDATE audit_entry SET seq = -1 WHERE seq = :a", a=a)
        _sql(db_engine, "UPDATE audit_entry SET seq = :a WHERE seq = :b", a=a, b=b)
        _sql(db_engine, "UPDATE audit_entry SET seq = :b WHERE seq = -1", b=b)
        assert _seqs(db_engine) == list(range(1, real_log["last"] + 1))
        attack = f"entries {a} and {b} swapped"
        result = assert_broken_at(app, a, "does not follow the entry before it (removed or reordered)", attack=attack)
        assert f"entry {a}: altered: its content does not match its hash" in result.problems, attack
        assert f"entry {b}: altered: its content does not match its hash" in result.problems, attack
        _restore(app, snapshot)


def test_rewritten_history_is_named_by_the_signed_checkpoint(app, real_log, db_engine):
    detail = _entries(db_engine)[3].detail
    assert '"role":"pharmacy"' in detail
    hashes = _rewrite_history(db_engine, 4, detail.replace('"role":"pharmacy"', '"role":"analyst"'), _mac_key(app))
    assert set(hashes) == set(range(4, real_log["last"] + 1))
    assert _head(db_engine).hash == hashes[real_log["last"]]
    # Every hash and link is consistent again; the checkpoint signed before the rewrite is not.
    first = real_log["first_checkpoint"]
    # Named at the checkpoint, with the range the change lies in: which entry cannot be told.
    result = assert_broken_at(app, first, f"does not match the signed checkpoint at this entry: an entry from 1 to {first} was changed")
    assert "which one cannot be told" in (result.problem or "")
    assert f"entry {real_log['second_checkpoint']}: does not match the signed checkpoint at this entry: an entry from 1 to " \
           f"{real_log['second_checkpoint']}" in " ".join(result.problems)
    assert not [problem for problem in result.problems if "altered" in problem or "follow" in problem]


def test_rewritten_history_re_signed_or_unsigned_is_named_by_the_dpos_copies(app, real_log, db_engine, tmp_path):
    """The operator holds the signing key too: re-signing (or deleting) the checkpoints hides a
    rewrite from the database's own checkpoints, not from the copies the DPO saved earlier."""
    kept = _save_checkpoints(app, tmp_path / "checkpoints.json")
    snapshot = _snapshot(db_engine)
    signer = _signer(app)

    hashes = _rewrite_history(db_engine, 2, '{"what":"nothing to see"}', _mac_key(app))
    with db_engine.begin() as connection:
        for point in audit_log.checkpoints(connection):
            connection.execute(update(AuditCheckpoint).where(AuditCheckpoint.seq == point.seq).values(
                hash=hashes[point.seq], signature=signer.sign(point.seq, hashes[point.seq], point.at)))
    assert _verify(app).valid
    assert_broken_at(app, real_log["first_checkpoint"], "does not match the signed checkpoint at this entry", kept_file=kept)
    _restore(app, snapshot)

    _rewrite_history(db_engine, real_log["first_checkpoint"] + 1, '{"count":0}')
    _sql(db_engine, "DELETE FROM audit_checkpoint")
    _remac(db_engine, _mac_key(app), checkpointed=0)
    assert _verify(app).valid
    assert_broken_at(app, real_log["second_checkpoint"], "does not match the signed checkpoint at this entry", kept_file=kept)


def test_a_forged_checkpoint_is_named(app, real_log, db_engine, tmp_path):
    snapshot = _snapshot(db_engine)
    seq = real_log["first_checkpoint"]
    with db_engine.connect() as connection:
        point = next(p for p in audit_log.checkpoints(connection) if p.seq == seq)
    impostor = CheckpointSigner(bytes(range(32)))
    forgeries: dict[str, dict[str, Any]] = {
        "flipped signature byte": {"signature": point.signature[:10] + bytes([point.signature[10] ^ 4]) + point.signature[11:]},
        "truncated signature": {"signature": point.signature[:32]},
        "the hash of another entry": {"hash": _entries(db_engine)[seq - 2].hash},
        "another time": {"at": point.at + dt.timedelta(seconds=1)},
        "another key": {"key_id": impostor.key_id, "signature": impostor.sign(seq, point.hash, point.at)},
        "another key under our key id": {"signature": impostor.sign(seq, point.hash, point.at)},
    }
    for attack, values in forgeries.items():
        with db_engine.begin() as connection:
            connection.execute(update(AuditCheckpoint).where(AuditCheckpoint.seq == seq).values(**values))
        assert_broken_at(app, seq, "a checkpoint's signature does not verify with the audit public key", attack=attack)
        _restore(app, snapshot)
    # A forged checkpoint in the DPO's file is refused as well: the file proves nothing unsigned.
    path = _save_checkpoints(app, tmp_path / "checkpoints.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["checkpoints"][1]["seq"] = real_log["last"]
    path.write_text(json.dumps(document), encoding="utf-8")
    assert_broken_at(app, real_log["last"], "a checkpoint's signature does not verify", kept_file=path)


def test_a_checkpoints_file_that_is_not_one_is_refused(app, partners, tmp_path):
    partners.pharmacy()
    partners.run("audit", "checkpoint")
    for content in ("not json", '{"checkpoints": [{"seq": 1}]}', '{"checkpoints": [{"seq": 1, "hash": "zz"}]}', "42"):
        path = tmp_path / "bad.json"
        path.write_text(content, encoding="utf-8")
        cli = _cli(app, "audit", "verify", "--checkpoints", str(path))
        assert cli.exit_code == 1, (content, cli.output)
        assert "the checkpoints file is not a list of checkpoints" in cli.stderr, content
        assert "BROKEN" not in cli.output and "valid" not in cli.stdout, content


def test_a_bare_list_of_checkpoints_is_accepted(app, partners, tmp_path):
    """`--checkpoints` reads `data.get("checkpoints", data)`: a plain list is meant to work too."""
    partners.pharmacy()
    partners.run("audit", "checkpoint")
    document = json.loads(_save_checkpoints(app, tmp_path / "checkpoints.json").read_text(encoding="utf-8"))
    path = tmp_path / "list.json"
    path.write_text(json.dumps(document["checkpoints"]), encoding="utf-8")
    cli = _cli(app, "audit", "verify", "--checkpoints", str(path))
    assert cli.exit_code == 0, cli.output
    assert "1 signed checkpoints and 1 kept ones from the file" in cli.stdout


# --- pruning --------------------------------------------------------------------------------------


def _issue(partners, count: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(count):
        partners.add("prevention_service", f"Preventiedienst {uuid.uuid4().hex[:6]}")


def test_pruning_drops_old_entries_and_keeps_the_rest_verifiable(app, partners, clock, db_engine, tmp_path):
    _issue(partners, 3)
    old = _entries(db_engine)
    assert [e.seq for e in old] == [1, 2, 3]
    partners.run("audit", "checkpoint")
    kept = _save_checkpoints(app, tmp_path / "before-prune.json")
    clock.advance(days=731)
    _issue(partners, 2)  # newer entries, at seq 4 and 5
    outcome = _state(app).retention.run()

    (result,) = [c for c in outcome.classes if c.data_class == "audit_log"]
    assert (result.outcome, result.rows, result.period_days) == ("ok", 2, 730)
    entries = _entries(db_engine)
    # The newest old entry stays as the anchor of the new start; everything after it is recent.
    assert entries[0].seq == 3 and entries[0].hash == old[-1].hash
    assert all(e.at >= clock.now - dt.timedelta(days=730) for e in entries[1:])
    assert not {e.hash for e in old[:2]} & {e.hash for e in entries}
    (pruned,) = [e for e in entries if e.kind == "audit.pruned"]
    detail = json.loads(pruned.detail)
    assert detail["through_seq"] == 2 and detail["anchor_hash"] == old[-1].hash.hex() and detail["period_days"] == 730
    assert dt.datetime.fromisoformat(detail["cutoff"]) == clock.now - dt.timedelta(days=730)
    head = _head(db_engine)
    assert (head.base_seq, head.base_hash) == (2, old[1].hash)
    assert _checkpoint_seqs(db_engine)[0] == 3  # the anchor, signed
    # The anchor is kept on purpose: compliance does not count it as overdue.
    (status,) = [s for s in _state(app).retention.status() if s.data_class == "audit_log"]
    assert status.past_period == 0 and status.compliant

    result = assert_valid(app)
    assert (result.first_seq, result.last_seq) == (3, head.seq)
    # The DPO's checkpoints from before the prune are of entries that are gone or kept: they still verify.
    assert _verify(app, _load_kept(kept)).valid
    assert _cli(app, "audit", "verify", "--checkpoints", str(kept)).exit_code == 0

    assert _sql(db_engine, "DELETE FROM audit_checkpoint WHERE seq = 3") == 1
    assert_broken_at(app, 3, "the start of the pruned log is not anchored by a signed checkpoint")


def test_an_entry_exactly_730_days_old_is_kept_and_one_a_microsecond_older_is_pruned(app, partners, clock, db_engine):
    _issue(partners, 2)  # entries 1 and 2, at the same instant
    clock.advance(days=730)
    outcome = _state(app).retention.run()
    assert next(c for c in outcome.classes if c.data_class == "audit_log").rows == 0
    assert _seqs(db_engine)[0] == 1
    clock.advance(microseconds=1)
    outcome = _state(app).retention.run()
    # Entry 1 goes; entry 2, as old, stays as the anchor of the new start.
    assert next(c for c in outcome.classes if c.data_class == "audit_log").rows == 1
    assert _seqs(db_engine)[0] == 2 and _head(db_engine).base_seq == 1
    assert_valid(app)


def test_a_second_prune_moves_the_anchor_and_still_verifies(app, partners, clock, db_engine):
    _issue(partners, 2)
    clock.advance(days=731)
    _state(app).retention.run()
    first_base = _head(db_engine).base_seq
    clock.advance(days=731)
    _state(app).retention.run()
    head = _head(db_engine)
    assert head.base_seq > first_base
    assert _checkpoint_seqs(db_engine)[0] == head.base_seq + 1
    assert [d["through_seq"] for d in _details(db_engine, "audit.pruned")] == [head.base_seq]
    assert_valid(app)


def _forge_prune(app, db_engine, real_log, *, cutoff: dt.datetime, period_days: int) -> int:  # type: ignore[no-untyped-def]
    """Drop the entries before the first signed checkpoint and append a well-formed audit.pruned
    entry claiming `cutoff` and `period_days`, as an operator with database access could; return
    the forged entry's seq."""
    base = real_log["first_checkpoint"]  # signed: the forger keeps it as the anchor
    anchor, previous = _entries(db_engine)[base - 1], _entries(db_engine)[base - 2]
    head = _head(db_engine)
    now = _state(app).clock()
    detail = json.dumps({"anchor_hash": anchor.hash.hex(), "cutoff": cutoff.isoformat(), "period_days": period_days,
                         "through_seq": base - 1}, sort_keys=True, separators=(",", ":"))
    seq = head.seq + 1
    digest = entry_hash(head.hash, seq, now, "audit.pruned", "scheduler", detail)
    _sql(db_engine, "DELETE FROM audit_entry WHERE seq < :seq", seq=base)
    with db_engine.begin() as connection:
        connection.execute(AuditEntry.__table__.insert().values(
            seq=seq, at=now, kind="audit.pruned", actor="scheduler", detail=detail, prev_hash=head.hash, hash=digest))
        connection.execute(update(AuditHead).values(seq=seq, hash=digest, base_seq=base - 1, base_hash=previous.hash))
    # The forger holds the MAC key: only the prune's own rules can give it away.
    _remac(db_engine, _mac_key(app))
    return seq


def test_a_forged_prune_of_recent_entries_is_named(app, real_log, db_engine):
    """The kept anchor's real, chained time gives a forged prune of recent entries away."""
    now = _state(app).clock()
    seq = _forge_prune(app, db_engine, real_log, cutoff=now - dt.timedelta(days=730), period_days=730)
    assert_broken_at(app, seq, "records a prune of entries younger than the audit log's period")


def test_a_forged_prune_claiming_a_short_period_is_named_by_the_policy_period(app, real_log, db_engine):
    seq = _forge_prune(app, db_engine, real_log, cutoff=_state(app).clock(), period_days=0)
    # The service verifies with the period of its policy file (730 days), not the entry's claim.
    result = _state(app).retention.verify_audit()
    assert not result.valid and result.broken_at == seq
    cli = _cli(app, "audit", "verify")
    assert cli.exit_code == 1 and cli.stderr.startswith(f"BROKEN at entry {seq}: records a prune of entries younger")


def test_the_schedulers_checkpoint_job_judges_a_prune_by_the_policy_period_too(app, real_log, db_engine, caplog):
    from service.scheduler import build

    seq = _forge_prune(app, db_engine, real_log, cutoff=_state(app).clock(), period_days=0)
    job = build(_state(app), app.config).get_job("audit-checkpoint")
    with caplog.at_level("ERROR", logger="service.scheduler"):
        job.func(*job.args)
    # Not signed: a checkpoint would vouch for the forged prune, as `audit checkpoint` refuses to.
    assert _checkpoint_seqs(db_engine) == [real_log["first_checkpoint"], real_log["second_checkpoint"]]
    assert f"audit log checkpoint not signed: the audit log does not verify: entry {seq}" in caplog.text


def test_a_broken_chain_is_not_pruned(app, partners, clock, db_engine):
    _issue(partners, 3)
    _sql(db_engine, "UPDATE audit_entry SET detail = '{}' WHERE seq = 2")
    clock.advance(days=731)
    cli = _cli(app, "retention", "run")
    assert cli.exit_code == 1
    assert "audit_log" in cli.output and "error: AuditChainBroken" in cli.output
    outcome = _state(app).retention.run()
    (result,) = [c for c in outcome.classes if c.data_class == "audit_log"]
    assert (result.outcome, result.error, result.rows) == ("error", "AuditChainBroken", 0)
    assert _seqs(db_engine)[:3] == [1, 2, 3] and _head(db_engine).base_seq == 0
    assert _details(db_engine, "audit.pruned") == []
    recorded = [d for d in _details(db_engine, "retention.purged") if d["data_class"] == "audit_log"]
    assert [(d["outcome"], d["error"]) for d in recorded] == [("error", "AuditChainBroken")] * 2
    assert_broken_at(app, 2, "altered")


def test_entries_dropped_from_the_start_without_a_recorded_prune_are_detected(app, real_log, db_engine, tmp_path):
    """Moving the log's start forward is a prune only if the log says so (an audit.pruned entry).

    Here the operator drops recent entries from the start and points audit_head's base at a
    signed checkpoint, as a prune would, but no prune happened (and the entries are minutes old).
    """
    kept = _save_checkpoints(app, tmp_path / "checkpoints.json")
    base = real_log["first_checkpoint"]
    anchor = _entries(db_engine)[base - 1]
    _sql(db_engine, "DELETE FROM audit_entry WHERE seq <= :seq", seq=base)
    _sql(db_engine, "UPDATE audit_head SET base_seq = :seq, base_hash = :digest", seq=base, digest=anchor.hash)
    assert _details(db_engine, "audit.pruned") == []
    assert not _verify(app).valid
    assert not _verify(app, _load_kept(kept)).valid
    cli = _cli(app, "audit", "verify", "--checkpoints", str(kept))
    assert cli.exit_code == 1 and "BROKEN at entry" in cli.stderr


# --- what an entry may hold ---------------------------------------------------------------------


REFUSED_DETAILS = [
    # keys that are not in DETAIL_KEYS, named as what they would leak
    {"note": "vroeg naar CAW"},
    {"token": "ss_" + "0" * 75},
    {"pseudonym": "ab" * 16},
    {"client_id": uuid.uuid4().hex},
    {"lat": 51.0259},
    {"location": "51.0259,4.4776"},
    {"payload": "x"},
    {"count": 1, "reporter": "ab"},  # one bad key among good ones
    # allowed keys with values that are not numbers, booleans, short text or flat lists of them
    {"count": {"lat": 51.0, "lon": 4.4}},
    {"key_ids": [{"note": "x"}]},
    {"key_ids": [["nested"]]},
    {"what": ("a", "b")},
    {"what": b"bytes"},
    {"what": {1, 2}},
    {"what": "x" * 201},
    {"key_ids": ["ok", "x" * 201]},
]


def test_a_detail_outside_the_allowed_keys_and_values_is_refused(app, db_engine, clock):
    for detail in REFUSED_DETAILS:
        with db_engine.begin() as connection:
            with pytest.raises(AuditDetailError):
                audit_log.append(connection, kind="test.event", actor="test", detail=detail, at=clock())
            with pytest.raises(AuditDetailError):
                _state(app).audit(connection, "test.event", "test", **detail)
    assert _entries(db_engine) == [] and _head(db_engine).seq == 0


def test_every_allowed_key_takes_numbers_booleans_short_text_and_lists_of_them(app, db_engine, clock):
    values: list[Any] = [1, 2.5, True, None, "x" * 200, ["a", 1, False, None]]
    detail = {key: values[index % len(values)] for index, key in enumerate(sorted(DETAIL_KEYS))}
    with db_engine.begin() as connection:
        assert audit_log.append(connection, kind="test.event", actor="test", detail=detail, at=clock()) == 1
    (entry,) = _entries(db_engine)
    assert json.loads(entry.detail) == detail
    assert_valid(app)


def test_the_log_holds_no_token_note_client_id_pseudonym_or_coordinate(app, client, partners, clock, db_engine):
    pharmacy_id, pharmacy_token = partners.add("pharmacy", "Apotheek Janssens", partners.area())
    assert pharmacy_token
    analyst_id, analyst_token = partners.add("prevention_service", "Preventiedienst Mechelen")
    second_token = partners.run("partners", "token", pharmacy_id).rsplit(": ", 1)[1].strip()
    notes = ["vroeg naar CAW", "zoekt opvang voor de nacht", "kwam met haar zus"]
    client_ids = [uuid.uuid4().hex for _ in range(3)]
    observed = (clock.now - dt.timedelta(minutes=30)).isoformat()
    response = client.post("/v1/pharmacy/reports", headers=bearer(pharmacy_token), json={
        "category": "dv_mask19", "observed_at": observed, "note": notes[0], "client_id": client_ids[0]})
    assert response.status_code == 201, response.get_json()
    response = client.post("/v1/pharmacy/reports/batch", headers=bearer(second_token), json={"reports": [
        {"category": "dv_mask19", "observed_at": observed, "note": notes[1], "client_id": client_ids[1]}]})
    assert response.get_json()["accepted"] == 1, response.get_json()
    field_id, _ = partners.add("field_service", "Straathoekwerk Noord")
    device_token = partners.device(client, field_id)
    lat, lon = 51.0259, 4.4776
    response = client.post("/v1/field/reports/batch", headers=bearer(device_token), json={"reports": [
        {"client_id": client_ids[2], "category": "housing_need", "observed_at": observed,
         "location": {"lat": lat, "lon": lon}, "note": notes[2]}]})
    assert response.get_json()["accepted"] == 1, response.get_json()
    with db_engine.connect() as connection:
        pseudonyms = [*connection.execute(select(Report.reporter)).scalars(), *connection.execute(select(Submission.key_hash)).scalars()]
    assert len(pseudonyms) == 6
    partners.run("partners", "revoke", analyst_id)
    clock.advance(days=40)
    partners.run("retention", "run")
    partners.run("audit", "checkpoint")

    kinds = {entry.kind for entry in _entries(db_engine)}
    assert {"credential.issued", "credential.revoked", "keys.destroyed", "retention.purged"} <= kinds
    dump = _dump(db_engine).lower()
    tokens = [pharmacy_token, analyst_token, second_token, device_token]
    forbidden = [
        *tokens, *(token[35:] for token in tokens), *(token[3:35] for token in tokens),
        *notes, "opvang voor de nacht", *client_ids, *(str(uuid.UUID(c)) for c in client_ids),
        *(p.hex() for p in pseudonyms), str(lat), str(lon),
        "apotheek", "janssens", "straathoekwerk", "preventiedienst",
    ]
    for secret in forbidden:
        assert secret.lower() not in dump, secret
    assert_valid(app)


def _dump(engine: Engine) -> str:
    """Every column of every audit table, as text (bytes as hex and as latin-1)."""
    parts = []
    with engine.connect() as connection:
        for table in ("audit_entry", "audit_checkpoint", "audit_head"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value)
                        parts += [value.hex(), value.decode("latin-1")]
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


# --- concurrency --------------------------------------------------------------------------------


def test_concurrent_appends_leave_one_valid_chain(app, db_engine, clock):
    threads, each = 8, 6
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=10)
            for count in range(each):
                with db_engine.begin() as connection:
                    audit_log.append(connection, kind="test.event", actor=f"thread {index}", detail={"count": count}, at=clock())
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    entries = _entries(db_engine)
    assert [e.seq for e in entries] == list(range(1, threads * each + 1))
    for index in range(threads):
        assert [json.loads(e.detail)["count"] for e in entries if e.actor == f"thread {index}"] == list(range(each))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))
    assert _head(db_engine).seq == threads * each
    assert assert_valid(app).entries_checked == threads * each


def test_two_checkpoints_of_the_same_head_at_once_leave_one(app, db_engine, clock):
    """The scheduler's checkpoint job, `audit checkpoint` and a retention run may sign the same head together."""
    with db_engine.begin() as connection:
        audit_log.append(connection, kind="test.event", actor="test", detail={}, at=clock())
    signer = _signer(app)
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            with db_engine.begin() as connection:
                outcome["seq"] = audit_log.checkpoint(connection, signer, clock())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    with db_engine.connect() as first:
        with first.begin():
            assert audit_log.checkpoint(first, signer, clock()) == 1
            worker = threading.Thread(target=second)
            worker.start()
            _wait_until_waiting_on_a_lock(db_engine, worker)
        worker.join(timeout=30)
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["seq"] is None
    assert _checkpoint_seqs(db_engine) == [1]
    assert_valid(app)


def _wait_until_waiting_on_a_lock(engine: Engine, worker: threading.Thread) -> None:
    """Return once the worker's transaction waits for ours (PostgreSQL), or after a moment (SQLite).

    On SQLite a writer waits at BEGIN for the write lock, so it cannot get ahead of us anyway.
    """
    if engine.dialect.name != "postgresql":
        time.sleep(0.05)
        return
    deadline = time.monotonic() + 10
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while time.monotonic() < deadline and worker.is_alive():
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar_one()
            if waiting:
                return
            time.sleep(0.01)


def test_a_dry_run_counts_what_the_prune_drops(app, partners, clock, db_engine):
    _issue(partners, 3)
    clock.advance(days=731)
    dry = next(c for c in _state(app).retention.run(dry_run=True).classes if c.data_class == "audit_log")
    done = next(c for c in _state(app).retention.run().classes if c.data_class == "audit_log")
    assert dry.rows == done.rows == 2  # entries 1 and 2; entry 3 stays as the anchor


def test_an_entry_whose_clock_was_read_before_the_last_one_s_keeps_the_log_in_order(app, db_engine):
    """Two writers read their clocks, then queue on the head: the later append of an earlier
    time (the scheduler's jobs run side by side) must not break the chain's order."""
    late = dt.datetime(2026, 11, 29, 10, 0, 1, tzinfo=dt.timezone.utc)
    early = late - dt.timedelta(milliseconds=3)
    with db_engine.begin() as connection:
        audit_log.append(connection, kind="test.first", actor="test", detail={"count": 1}, at=late)
        seq = audit_log.append(connection, kind="test.second", actor="test", detail={"count": 2}, at=early)
    with db_engine.connect() as connection:
        stored = connection.execute(select(AuditEntry.at).where(AuditEntry.seq == seq)).scalar_one()
    assert stored == late
    verification = app.extensions["safesignal"].retention.verify_audit()
    assert verification.valid, verification.problems


# --- MACs, lost checkpoints, entries before MACs ---------------------------------------------------


def _append_without_the_key(engine: Engine, at: dt.datetime) -> int:
    """Anyone with write access to the database: a well-chained entry and a moved head, no MAC key."""
    head = _head(engine)
    seq, detail = head.seq + 1, '{"what":"nothing to see"}'
    digest = entry_hash(head.hash, seq, at, "credential.revoked", "cli", detail)
    with engine.begin() as connection:
        connection.execute(AuditEntry.__table__.insert().values(
            seq=seq, at=at, kind="credential.revoked", actor="cli", detail=detail, prev_hash=head.hash, hash=digest))
        connection.execute(update(AuditHead).values(seq=seq, hash=digest))
    return seq


def test_an_entry_added_without_the_mac_key_is_named_and_never_signed(app, real_log, db_engine, clock):
    seq = _append_without_the_key(db_engine, clock())
    assert_broken_at(app, seq, "has no MAC: written without the audit MAC key")
    # ...also with a MAC made up without the key, and with the head's MAC copied along.
    _sql(db_engine, "UPDATE audit_entry SET mac = :mac WHERE seq = :seq", mac=bytes(32), seq=seq)
    assert_broken_at(app, seq, "its MAC does not verify")
    cli = _cli(app, "audit", "checkpoint")
    assert cli.exit_code == 1 and f"not signed: the audit log does not verify: entry {seq}" in cli.output, cli.output
    assert _checkpoint_seqs(db_engine) == [real_log["first_checkpoint"], real_log["second_checkpoint"]]


def test_history_rewritten_without_the_mac_key_is_named_at_the_first_changed_entry(app, real_log, db_engine):
    _rewrite_history(db_engine, 4, '{"what":"nothing to see"}')
    result = assert_broken_at(app, 4, "its MAC does not verify: written or re-hashed without the audit MAC key")
    assert "entry 5: its MAC does not verify: written or re-hashed without the audit MAC key" in result.problems


def test_a_log_whose_checkpoints_were_all_deleted_is_not_valid(app, partners, real_log, db_engine):
    assert _sql(db_engine, "DELETE FROM audit_checkpoint") == 2
    assert_broken_at(app, real_log["second_checkpoint"], "the checkpoint signed at this entry is missing: checkpoints were deleted")


def test_a_new_log_before_its_first_checkpoint_is_valid_and_says_nothing_is_signed(app, partners, db_engine):
    partners.pharmacy()
    result = assert_valid(app)
    assert result.last_checkpoint is None and result.unsigned_entries == result.last_seq == 1
    assert "no checkpoint has been signed yet: nothing is vouched for by a signature" in result.notes
    cli = _cli(app, "audit", "verify")
    assert "none signed yet, 1 entries after the last checkpoint (not yet signed)" in cli.stdout


def test_verify_says_how_many_entries_lie_after_the_last_checkpoint(app, real_log):
    result = assert_valid(app)
    assert result.unsigned_entries == real_log["last"] - real_log["second_checkpoint"] == 1
    cli = _cli(app, "audit", "verify")
    assert f"signed through entry {real_log['second_checkpoint']}, 1 entries after the last checkpoint (not yet signed)" in cli.stdout
    assert "1 entries after the last checkpoint are chained and MACed but not yet signed" in cli.stdout


def test_entries_written_before_macs_are_covered_by_the_chain_and_checkpoints_only(app, partners, real_log, db_engine):
    """A log as migration 0006 leaves it: no MAC on any entry or the head, mac_from past the end."""
    last = real_log["last"]
    _sql(db_engine, "UPDATE audit_entry SET mac = NULL")
    _sql(db_engine, "UPDATE audit_head SET mac = NULL, mac_from = :next", next=last + 1)
    result = assert_valid(app)
    assert result.unauthenticated_entries == last
    assert any(note.startswith(f"{last} entries were written before entries carried a MAC") for note in result.notes)
    partners.pharmacy()  # the first write after the upgrade MACs its entry and the head
    assert _head(db_engine).mac is not None and _entries(db_engine)[-1].mac is not None
    assert assert_valid(app).unauthenticated_entries == last
    # From mac_from on, an entry without a MAC is refused; before it, one with a MAC must verify.
    _sql(db_engine, "UPDATE audit_entry SET mac = NULL WHERE seq = :seq", seq=last + 1)
    assert_broken_at(app, last + 1, "has no MAC")
