"""The DPO's API: read-only views that come from the same sources the retention jobs use."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from support import bearer
from sqlalchemy import text

from crypto.audit import GENESIS, entry_hash, verify_checkpoint
from retention import policy as retention_policy
from service.config import ConfigError

NOTE = "Mevrouw Peeters, 0470 12 34 56, vroeg naar CAW"


def _submit(client, token, clock, count=3):  # type: ignore[no-untyped-def]
    reports = [{"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=5)).isoformat(), "note": NOTE}
               for _ in range(count)]
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert response.get_json()["accepted"] == count


def _dpo(partners) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(partners.add("dpo_office", "DPO Mechelen")[1])


def test_policies_and_the_art30_record_state_the_periods_the_jobs_apply(app, client, partners):
    headers = _dpo(partners)
    loaded = retention_policy.load()
    body = client.get("/v1/dpo/policies", headers=headers).get_json()
    served = {item["data_class"]: item for item in body["data_classes"]}
    assert served.keys() == set(loaded)
    record = client.get("/v1/dpo/record", headers=headers).get_json()
    limits = {a["data_class"]: a["time_limit_for_erasure"] for a in record["processing_activities"]}
    for name in loaded:
        assert served[name]["period_days"] == limits[name]["period_days"] == loaded[name].period_days
        assert served[name]["on_expiry"] == limits[name]["on_expiry"] == loaded[name].on_expiry.value
    # The jobs' cutoff is the same period (one source).
    retention = app.extensions["safesignal"].retention
    now = retention.clock()
    assert now - retention.policies.cutoff("pharmacy_reports", now) == dt.timedelta(days=served["pharmacy_reports"]["period_days"])

    markdown = client.get("/v1/dpo/record?format=markdown", headers=headers)
    assert markdown.mimetype == "text/markdown"
    assert "| pharmacy_reports |" in markdown.get_data(as_text=True)
    assert "35 days from the start of the UTC day the report was received" in markdown.get_data(as_text=True)
    bad = client.get("/v1/dpo/record?format=pdf", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"query": {"format": ["Must be json or markdown."]}}


def test_compliance_runs_and_inventory_follow_a_retention_run(app, client, partners, clock):
    headers = _dpo(partners)
    _submit(client, partners.pharmacy(), clock)
    epoch = clock.now.date().isoformat()
    inventory = client.get("/v1/dpo/inventory", headers=headers).get_json()
    assert {"data_class": "pharmacy_reports", "epoch": epoch, "age_days": 0, "records": 3, "key": "live"} in inventory

    clock.advance(days=36)
    compliance = client.get("/v1/dpo/retention/compliance", headers=headers).get_json()
    reports = next(c for c in compliance["data_classes"] if c["data_class"] == "pharmacy_reports")
    assert compliance["compliant"] is False
    assert (reports["past_period"], reports["live_keys_past_period"], reports["compliant"]) == (3, 1, False)

    app.extensions["safesignal"].retention.run()
    compliance = client.get("/v1/dpo/retention/compliance", headers=headers).get_json()
    assert compliance["compliant"] is True
    assert all(c["past_period"] == 0 and c["live_keys_past_period"] == 0 for c in compliance["data_classes"])
    runs = client.get("/v1/dpo/retention/runs", headers=headers).get_json()
    latest = next(r for r in runs if r["data_class"] == "pharmacy_reports")
    assert (latest["rows"], latest["keys_destroyed"], latest["outcome"], latest["action"]) == (3, 1, "ok", "shred")
    assert not [row for row in client.get("/v1/dpo/inventory", headers=headers).get_json() if row["data_class"] == "pharmacy_reports"]
    assert len(client.get("/v1/dpo/retention/runs?limit=2", headers=headers).get_json()) == 2


def test_the_dpo_can_verify_the_log_with_their_own_code_from_the_api_alone(app, client, partners, clock):
    """What the DPO downloads suffices to check the chain and its signatures without our code."""
    headers = _dpo(partners)
    _submit(client, partners.pharmacy(), clock)
    clock.advance(days=36)
    app.extensions["safesignal"].retention.run()
    assert client.get("/v1/dpo/audit/verification", headers=headers).get_json()["valid"] is True

    entries, after = [], 0
    while after is not None:
        page = client.get(f"/v1/dpo/audit/entries?after={after}&limit=4", headers=headers).get_json()
        entries += page["entries"]
        after = page["next_after"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1)) and len(entries) > 4
    prev = GENESIS
    for entry in entries:
        at = dt.datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
        digest = entry_hash(prev, entry["seq"], at, entry["kind"], entry["actor"], entry["detail"])
        assert digest.hex() == entry["hash"] and entry["prev_hash"] == prev.hex()
        prev = digest
    kept = client.get("/v1/dpo/audit/checkpoints", headers=headers).get_json()
    assert kept["checkpoints"]
    by_seq = {e["seq"]: e["hash"] for e in entries}
    for point in kept["checkpoints"]:
        assert by_seq[point["seq"]] == point["hash"]
        assert verify_checkpoint(bytes.fromhex(kept["public_key"]), point["seq"], bytes.fromhex(point["hash"]),
                                 dt.datetime.fromisoformat(point["at"]), bytes.fromhex(point["signature"]))
    # Nothing the log holds is report content or a credential (hashes and MACs left out: random
    # hex contains "0470" now and then).
    text = json.dumps([{k: v for k, v in e.items() if k not in ("hash", "prev_hash", "mac")} for e in entries])
    for secret in ("Peeters", "0470", "CAW", "ss_"):
        assert secret not in text


def test_bad_paging_arguments_get_the_error_shape(client, partners):
    headers = _dpo(partners)
    for query in ("limit=0", "limit=5001", "limit=abc", "after=-1"):
        response = client.get(f"/v1/dpo/audit/entries?{query}", headers=headers)
        assert response.status_code == 422, query
        body = response.get_json()
        assert body["code"] == 422 and list(body["errors"]["query"]) == [query.split("=")[0]]
    assert client.get("/v1/dpo/retention/runs?limit=0", headers=headers).status_code == 422


def test_odd_numbers_in_the_query_get_422_not_500(client, partners):
    headers = _dpo(partners)
    for value in ("%C2%B2", "%D9%A3", "9" * 5000, "1e3", "+5", " 5"):
        for path in ("/v1/dpo/retention/runs?limit=", "/v1/dpo/audit/entries?after="):
            response = client.get(path + value, headers=headers)
            assert response.status_code == 422, (path, value[:10])
            assert value[:10] not in response.get_data(as_text=True)


def test_a_tampered_entry_is_reported_not_a_500(app, client, partners, clock, db_engine):
    headers = _dpo(partners)
    clock.advance(days=1)
    app.extensions["safesignal"].retention.run()
    with db_engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET detail = '{not json' WHERE kind = 'retention.purged'"))
    verification = client.get("/v1/dpo/audit/verification", headers=headers)
    assert verification.status_code == 200 and verification.get_json()["valid"] is False
    runs = client.get("/v1/dpo/retention/runs", headers=headers)
    assert runs.status_code == 200 and runs.get_json() == []


def test_an_api_given_only_the_public_key_verifies_and_cannot_sign(app, app_with, partners, tmp_path):
    retention = app.extensions["safesignal"].retention
    retention.run()  # entries and a checkpoint signed with the real key
    headers = _dpo(partners)
    api = app_with(AUDIT_SIGNING_KEY=None, AUDIT_PUBLIC_KEY=retention.public_key.hex())
    with api.test_client() as api_client:
        assert api_client.get("/v1/dpo/audit/verification", headers=headers).get_json()["valid"] is True
    # A signing key that is not the configured public key's is refused where signing starts.
    other = tmp_path / "other.key"
    other.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    wrong = app_with(AUDIT_SIGNING_KEY=None, AUDIT_SIGNING_KEY_FILE=str(other), AUDIT_PUBLIC_KEY=retention.public_key.hex())
    with pytest.raises(ConfigError, match="does not match SAFESIGNAL_AUDIT_PUBLIC_KEY"):
        wrong.extensions["safesignal"].retention.signer
    # The scheduler, which signs, refuses to start (a process of its own: the test's app context
    # would otherwise stand in for this configuration's).
    config = wrong.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESIGNAL_")}
    env.update({f"SAFESIGNAL_{name}": str(config[name]) for name in (
        "DATABASE_URL", "KEYS_DATABASE_URL", "KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY_FILE", "AUDIT_PUBLIC_KEY",
        "AUDIT_MAC_KEY")})
    result = subprocess.run([sys.executable, "-c", "from service.cli import main; main()", "scheduler"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "does not match SAFESIGNAL_AUDIT_PUBLIC_KEY" in result.stderr


def _key_files(app) -> set[str]:  # type: ignore[no-untyped-def]
    folder = Path(app.instance_path) / "keys"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


@pytest.mark.parametrize("env", ["development", "production"])
def test_an_api_given_only_the_public_key_lists_the_checkpoints(app, app_with, partners, env):
    """Listing checkpoints needs the public key only: no 500, and no signing key read or made up."""
    retention = app.extensions["safesignal"].retention
    signed = retention.run().checkpoint
    headers = _dpo(partners)
    api = app_with(ENV=env, AUDIT_SIGNING_KEY=None, AUDIT_PUBLIC_KEY=retention.public_key.hex())
    before = _key_files(api)
    with api.test_client() as api_client:
        response = api_client.get("/v1/dpo/audit/checkpoints", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["public_key"] == retention.public_key.hex() and body["key_id"] == retention.signer.key_id
    assert signed and [point["seq"] for point in body["checkpoints"]] == [signed]
    assert _key_files(api) == before


@pytest.mark.parametrize("loader", ["load_keks", "load_pseudonym_key", "load_audit_signer", "load_tracing_token_key",
                                    "load_tracing_export_key"])
def test_production_never_creates_a_key_file(tmp_path, loader):
    from service import secrets

    with pytest.raises(ConfigError, match="production"):
        getattr(secrets, loader)({"ENV": "production"}, str(tmp_path))
    assert list(tmp_path.rglob("*")) == []


def test_the_dpo_verifies_what_the_api_serves_with_code_written_from_the_documented_format(app, client, partners, clock):
    """A verifier written from crypto/audit.py's docstring alone (hashlib and Ed25519), on the
    API's output as served: times are hashed and signed as the text the API gives."""
    import hashlib

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def length_prefixed(*fields: bytes) -> bytes:
        return b"".join(len(field).to_bytes(4, "big") + field for field in fields)

    headers = _dpo(partners)
    _submit(client, partners.pharmacy(), clock)
    clock.advance(days=36)
    app.extensions["safesignal"].retention.run()
    entries, after = [], 0
    while after is not None:
        page = client.get(f"/v1/dpo/audit/entries?after={after}&limit=7", headers=headers).get_json()
        entries += page["entries"]
        after = page["next_after"]
    prev = bytes(32)
    for entry in entries:
        digest = hashlib.sha256(length_prefixed(
            b"safesignal/audit-entry", b"\x01", prev, entry["seq"].to_bytes(8, "big"), entry["at"].encode(),
            entry["kind"].encode(), entry["actor"].encode(), entry["detail"].encode())).digest()
        assert entry["prev_hash"] == prev.hex() and entry["hash"] == digest.hex(), entry["seq"]
        prev = digest
    document = client.get("/v1/dpo/audit/checkpoints", headers=headers).get_json()
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(document["public_key"]))
    assert document["key_id"] == hashlib.sha256(bytes.fromhex(document["public_key"])).hexdigest()[:16]
    by_seq = {entry["seq"]: entry["hash"] for entry in entries}
    assert document["checkpoints"]
    for point in document["checkpoints"]:
        assert point["at"].endswith("Z") and by_seq[point["seq"]] == point["hash"]
        message = length_prefixed(b"safesignal/audit-checkpoint", b"\x01", point["seq"].to_bytes(8, "big"),
                                  bytes.fromhex(point["hash"]), point["at"].encode())
        try:
            public_key.verify(bytes.fromhex(point["signature"]), message)
        except InvalidSignature:
            pytest.fail(f"checkpoint {point['seq']} does not verify as served")
    verification = client.get("/v1/dpo/audit/verification", headers=headers).get_json()
    assert verification["valid"] is True and verification["last_checkpoint"] == document["checkpoints"][-1]["seq"]
    assert verification["unsigned_entries"] == len(entries) - verification["last_checkpoint"]
