"""The DPO's in-browser audit check (service/web/static/js/audit-verify.js), run in Node.

The log is made by the real service on SQLite and on PostgreSQL (partners and credentials through
the operator's CLI, checkpoints signed by `safesignal audit checkpoint` and the retention run), read
back as the DPO reads it over the API, and handed as JSON to tests/web/audit_verify_driver.mjs,
which runs the module with Node's WebCrypto. Tampering is done on that JSON, as a server that
served a doctored log would do it, and must be named at the right entry.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import bearer

from crypto.audit import CheckpointSigner, checkpoint_message, entry_hash
from service.audit import log as audit_log

NODE = shutil.which("node")
DRIVER = Path(__file__).with_name("audit_verify_driver.mjs")
if NODE is None and os.environ.get("SAFESIGNAL_TEST_BROWSER") == "required":  # CI: never skipped there
    raise RuntimeError("node is not installed, and SAFESIGNAL_TEST_BROWSER=required: the audit check cannot be tested")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the browser module cannot be run")

# What a municipality's name or a label can hold: accents, a typographic quote, a symbol outside
# the BMP (a surrogate pair in JSON's \u escapes).
NON_ASCII = {"municipality": "Écaussinnes", "what": "Zoë’s café ☕ 😀"}


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _node(tmp_path: Path, cases: list[dict[str, Any]]) -> list[Any]:
    """Run the cases through the driver; every case must return, none may throw."""
    path = tmp_path / f"cases-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    done = subprocess.run([NODE, str(DRIVER), str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for result in results:
        assert not (isinstance(result, dict) and "thrown" in result), result
    return results


def _verify(tmp_path: Path, served: dict[str, Any], **changes: Any) -> dict[str, Any]:
    args = {"entries": served["entries"], "checkpoints": served["checkpoints"], "publicKeyHex": served["public_key"], **changes}
    return _node(tmp_path, [{"op": "verifyLog", "args": [args]}])[0]


def _saved(tmp_path: Path, saved: Any, entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return _node(tmp_path, [{"op": "verifySavedCheckpoints", "args": [saved, {"entries": entries, **options}]}])[0]


def _dpo_read(client, headers: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the DPO's page fetches: every page of the entries, and the checkpoints document."""
    entries: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = client.get(f"/v1/dpo/audit/entries?after={after}&limit=4", headers=headers)
        assert page.status_code == 200, page.get_json()
        entries += page.get_json()["entries"]
        after = page.get_json()["next_after"]
    document = client.get("/v1/dpo/audit/checkpoints", headers=headers)
    assert document.status_code == 200, document.get_json()
    text = document.get_data(as_text=True)
    return {"entries": entries, "checkpoints": json.loads(text), "checkpoints_text": text,
            "public_key": json.loads(text)["public_key"]}


def _append(app, clock, *, kind: str, actor: str, detail: dict[str, Any]) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].engine.begin() as connection:
        return audit_log.append(connection, kind=kind, actor=actor, detail=detail, at=clock.now)


@pytest.fixture
def served(app, client, partners, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A real log with two signed checkpoints, a non-ASCII entry and an unsigned last entry, as served."""
    headers = bearer(partners.add("dpo_office", "DPO Mechelen")[1])
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek De Linde", partners.area())
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 2")
    clock.advance(minutes=1)
    analyst_id, _ = partners.add("prevention_service", "Preventiedienst")
    clock.advance(minutes=1)
    partners.run("partners", "revoke", analyst_id)
    clock.advance(minutes=1)
    non_ascii = _append(app, clock, kind="dpo.note", actor="Zoë (dpo)", detail=NON_ASCII)
    clock.advance(minutes=1)
    assert partners.run("audit", "checkpoint").startswith("signed checkpoint at entry")
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 3")
    clock.advance(minutes=1)
    assert partners.run("audit", "checkpoint").startswith("signed checkpoint at entry")
    clock.advance(minutes=1)
    partners.run("partners", "token", pharmacy_id, "--label", "counter 4")
    log = _dpo_read(client, headers)
    seqs = [point["seq"] for point in log["checkpoints"]["checkpoints"]]
    last = log["entries"][-1]["seq"]
    assert len(seqs) == 2 and [e["seq"] for e in log["entries"]] == list(range(1, last + 1)) and last > seqs[1] > seqs[0] > 5
    assert client.get("/v1/dpo/audit/verification", headers=headers).get_json()["valid"] is True
    return {**log, "headers": headers, "non_ascii": non_ascii, "first": seqs[0], "second": seqs[1], "last": last}


def _entry(served: dict[str, Any], seq: int) -> dict[str, Any]:
    return next(entry for entry in served["entries"] if entry["seq"] == seq)


def _signer(app) -> CheckpointSigner:  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"].retention.signer


# --- the untouched log ----------------------------------------------------------------------------


def test_the_untouched_log_verifies_in_node_as_on_the_server(app, served, tmp_path):
    result = _verify(tmp_path, served)
    assert result["ok"] is True and result["problem"] is None and result["problems"] == [], result
    assert result["supported"] is True and result["macChecked"] is False
    assert any("MAC" in note for note in result["notes"])
    assert (result["firstSeq"], result["lastSeq"], result["entriesChecked"]) == (1, served["last"], served["last"])
    assert result["checkpointsChecked"] == 2 and result["lastCheckpoint"] == served["second"]
    assert result["unsignedEntries"] == served["last"] - served["second"]
    assert result["keyId"] == _signer(app).key_id == served["checkpoints"]["key_id"]
    assert [c["status"] for c in result["checkpoints"]] == ["matched", "matched"]


def test_a_non_ascii_entry_is_hashed_as_served(app, served, tmp_path):
    """The detail is served as the canonical JSON text (\\u escapes), the actor as UTF-8 text."""
    entry = _entry(served, served["non_ascii"])
    assert "\\u00c9caussinnes" in entry["detail"] and "\\ud83d\\ude00" in entry["detail"] and entry["actor"] == "Zoë (dpo)"
    assert json.loads(entry["detail"]) == NON_ASCII
    prev = _entry(served, served["non_ascii"] - 1)["hash"]
    python = entry_hash(bytes.fromhex(prev), entry["seq"], _time(entry["at"]), entry["kind"], entry["actor"], entry["detail"]).hex()
    point = served["checkpoints"]["checkpoints"][0]
    message = checkpoint_message(point["seq"], bytes.fromhex(point["hash"]), _time(point["at"])).hex()
    node_hash, node_message, node_key_id = _node(tmp_path, [
        {"op": "entryHash", "args": [prev, entry]},
        {"op": "checkpointMessage", "args": [point["seq"], point["hash"], point["at"]]},
        {"op": "publicKeyId", "args": [served["public_key"]]},
    ])
    assert node_hash == python == entry["hash"]
    assert node_message == message
    assert node_key_id == _signer(app).key_id
    # A real signature over a non-ASCII entry: the checkpoint covers it (checked in the first test),
    # and an edit of one escaped character is caught.
    edited = copy.deepcopy(served["entries"])
    target = next(e for e in edited if e["seq"] == served["non_ascii"])
    target["detail"] = target["detail"].replace("\\u00eb", "\\u00ea")
    result = _verify(tmp_path, served, entries=edited)
    assert result["problem"]["seq"] == served["non_ascii"] and result["problem"]["check"] == "entry-hash"


# --- tampering the served log ---------------------------------------------------------------------


def _one_char(entries: list[dict[str, Any]], seq: int) -> list[dict[str, Any]]:
    edited = copy.deepcopy(entries)
    target = next(e for e in edited if e["seq"] == seq)
    assert '"' in target["detail"] and "1" not in target["detail"][:3]
    target["detail"] = target["detail"][:2] + "1" + target["detail"][3:]
    return edited


def test_every_edit_of_the_served_log_is_named_at_its_entry(app, served, tmp_path):
    entries, points, key = served["entries"], served["checkpoints"], served["public_key"]
    first, second, last = served["first"], served["second"], served["last"]
    edited = _one_char(entries, 3)
    removed = [e for e in entries if e["seq"] != 4]
    swapped = copy.deepcopy(entries)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    # Contents swapped between two rows that keep their numbers (a reorder in the table).
    renumbered = copy.deepcopy(entries)
    for name in ("at", "kind", "actor", "detail"):
        renumbered[4][name], renumbered[5][name] = renumbered[5][name], renumbered[4][name]
    truncated = [e for e in entries if e["seq"] < second]
    flipped = copy.deepcopy(points)
    signature = flipped["checkpoints"][1]["signature"]
    flipped["checkpoints"][1]["signature"] = signature[:10] + ("0" if signature[10] != "0" else "1") + signature[11:]
    other = CheckpointSigner(secrets.token_bytes(32))
    forged = copy.deepcopy(points)
    point = forged["checkpoints"][0]
    point["signature"] = other.sign(point["seq"], bytes.fromhex(point["hash"]), _time(point["at"])).hex()
    forged_named = copy.deepcopy(forged)
    forged_named["checkpoints"][0]["key_id"] = other.key_id
    # A signed checkpoint moved to another entry (its signature covers its seq).
    moved = copy.deepcopy(points)
    moved["checkpoints"][0]["seq"] = first - 1

    cases = [
        ("edited detail", {"entries": edited}, 3, "entry-hash"),
        ("removed entry", {"entries": removed}, 4, "entry-missing"),
        ("reordered in the list", {"entries": swapped}, 5, "entry-missing"),
        ("reordered in the table", {"entries": renumbered}, 5, "entry-hash"),
        ("truncated before a checkpoint", {"entries": truncated}, second, "checkpoint-beyond"),
        ("flipped signature", {"checkpoints": flipped}, second, "checkpoint-signature"),
        ("signed by another key", {"checkpoints": forged}, first, "checkpoint-signature"),
        ("signed by another key, named", {"checkpoints": forged_named}, first, "checkpoint-key"),
        ("moved checkpoint", {"checkpoints": moved}, first - 1, "checkpoint-signature"),
        ("another public key", {"publicKeyHex": other.public_key.hex()}, first, "checkpoint-key"),
    ]
    base = {"entries": entries, "checkpoints": points, "publicKeyHex": key}
    results = _node(tmp_path, [{"op": "verifyLog", "args": [{**base, **change}]} for _, change, _, _ in cases])
    for (attack, _, seq, check), result in zip(cases, results):
        assert result["ok"] is False, attack
        assert (result["problem"]["seq"], result["problem"]["check"]) == (seq, check), (attack, result["problems"])
        assert result["problem"] == result["problems"][0], attack
    # An entry dated more than five minutes after the verifier's clock (a forged prune's trick).
    now_ms = int(_time(_entry(served, second)["at"]).timestamp() * 1000) - 5 * 60 * 1000  # whole ms, as a JS clock
    limit = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc) + dt.timedelta(minutes=5)
    late = next(e["seq"] for e in entries if _time(e["at"]) > limit)
    assert first < late <= second
    (future,) = _node(tmp_path, [{"op": "verifyLog", "args": [base], "options": {"now": now_ms}}])
    assert (future["problem"]["seq"], future["problem"]["check"]) == (late, "entry-time")
    assert "in the future" in future["problem"]["message"]
    # The truncated log: the entries kept still check, the checkpoint past its end is named.
    assert results[4]["lastSeq"] == second - 1 and "past the log's last entry" in results[4]["problem"]["message"]
    assert last > second


def test_a_rewritten_and_re_signed_log_passes_alone_and_fails_against_saved_checkpoints(app, served, tmp_path):
    """What only the DPO's own copies catch: the operator re-hashes the chain after an edit and
    signs it again with the service's key. The log is consistent; the saved checkpoints are not."""
    saved = served["checkpoints_text"]
    rewritten = _one_char(served["entries"], 3)
    prev = bytes.fromhex(rewritten[1]["hash"])
    for entry in rewritten[2:]:
        entry["prev_hash"] = prev.hex()
        prev = entry_hash(prev, entry["seq"], _time(entry["at"]), entry["kind"], entry["actor"], entry["detail"])
        entry["hash"] = prev.hex()
    resigned = copy.deepcopy(served["checkpoints"])
    for point in resigned["checkpoints"]:
        point["hash"] = next(e["hash"] for e in rewritten if e["seq"] == point["seq"])
        point["signature"] = _signer(app).sign(point["seq"], bytes.fromhex(point["hash"]), _time(point["at"])).hex()

    alone = _verify(tmp_path, served, entries=rewritten, checkpoints=resigned)
    assert alone["ok"] is True, alone["problems"]
    same, against = _node(tmp_path, [
        {"op": "verifySavedCheckpoints", "args": [saved, {"entries": served["entries"]}]},
        {"op": "verifySavedCheckpoints", "args": [saved, {"entries": rewritten}]},
    ])
    assert same["ok"] is True and same["problems"] == [], same
    assert [s["status"] for s in same["saved"]] == ["matched", "matched"] and same["checkpointsChecked"] == 2
    assert same["keyId"] == _signer(app).key_id
    assert against["ok"] is False
    assert (against["problem"]["seq"], against["problem"]["check"]) == (served["first"], "checkpoint-mismatch")
    assert "an entry from 1 to" in against["problem"]["message"]
    assert [s["status"] for s in against["saved"]] == ["checkpoint-mismatch", "checkpoint-mismatch"]


def test_saved_checkpoints_against_an_edited_or_shortened_log(app, served, tmp_path):
    saved = served["checkpoints"]
    edited, shortened, other_key = _node(tmp_path, [
        {"op": "verifySavedCheckpoints", "args": [saved, {"entries": _one_char(served["entries"], 3)}]},
        {"op": "verifySavedCheckpoints", "args": [saved, {"entries": served["entries"][: served["first"] - 1]}]},
        {"op": "verifySavedCheckpoints",
         "args": [saved, {"entries": served["entries"], "publicKeyHex": CheckpointSigner(secrets.token_bytes(32)).public_key.hex()}]},
    ])
    assert (edited["ok"], edited["problem"]["seq"], edited["problem"]["check"]) == (False, 3, "entry-hash")
    assert {p["check"] for p in edited["problems"]} >= {"checkpoint-mismatch"}
    assert (shortened["ok"], shortened["problem"]["seq"], shortened["problem"]["check"]) == (False, served["first"], "checkpoint-beyond")
    assert (other_key["problem"]["seq"], other_key["problem"]["check"]) == (None, "key-changed")


def test_bad_input_and_a_browser_without_ed25519_give_a_result_not_an_exception(served, tmp_path):
    base = {"entries": served["entries"], "checkpoints": served["checkpoints"], "publicKeyHex": served["public_key"]}
    bad_hash = copy.deepcopy(served["entries"])
    bad_hash[2]["hash"] = "zz" + bad_hash[2]["hash"][2:]
    results = _node(tmp_path, [
        {"op": "verifyLog", "args": [base], "noEd25519": True},
        {"op": "verifySavedCheckpoints", "args": [served["checkpoints_text"], {"entries": served["entries"]}], "noEd25519": True},
        {"op": "verifyLog", "args": [{**base, "entries": {"seq": 1}}]},
        {"op": "verifyLog", "args": [{**base, "entries": bad_hash}]},
        {"op": "verifyLog", "args": [{**base, "publicKeyHex": "abcd"}]},
        {"op": "verifySavedCheckpoints", "args": ["{not json", {"entries": served["entries"]}]},
        {"op": "verifySavedCheckpoints", "args": [{"checkpoints": [{"seq": "1"}]}, {"entries": served["entries"],
                                                                                    "publicKeyHex": served["public_key"]}]},
    ])
    for result in results[:2]:
        assert (result["ok"], result["supported"], result["problem"]["check"]) == (False, False, "unsupported")
        assert "cannot verify Ed25519" in result["problem"]["message"]
    assert [r["problem"]["check"] for r in results[2:]] == ["malformed", "malformed", "public-key", "malformed", "malformed"]
    assert all(r["ok"] is False for r in results)


# --- a pruned log ---------------------------------------------------------------------------------


def test_a_pruned_log_and_checkpoints_saved_before_the_prune(app, client, partners, clock, tmp_path):
    headers = bearer(partners.add("dpo_office", "DPO Mechelen")[1])  # entry 1
    for _ in range(2):  # entries 2 and 3, each signed
        partners.add("prevention_service", f"Preventiedienst {uuid.uuid4().hex[:6]}")
        assert partners.run("audit", "checkpoint").startswith("signed checkpoint at entry")
    before = _dpo_read(client, headers)
    assert [p["seq"] for p in before["checkpoints"]["checkpoints"]] == [2, 3]
    clock.advance(days=731)
    partners.add("prevention_service", "Preventiedienst Nieuw")
    app.extensions["safesignal"].retention.run()  # prunes entries 1 and 2, keeps 3 as the anchor
    after = _dpo_read(client, headers)
    assert after["entries"][0]["seq"] == 3 and after["entries"][0]["prev_hash"] == before["entries"][1]["hash"]
    assert client.get("/v1/dpo/audit/verification", headers=headers).get_json()["valid"] is True

    unanchored = copy.deepcopy(after["checkpoints"])
    unanchored["checkpoints"] = [p for p in unanchored["checkpoints"] if p["seq"] != 3]
    moved_base = copy.deepcopy(after["entries"])
    moved_base[0]["prev_hash"] = "00" * 32
    # Entries dropped from the start of the served log with no prune recorded: the start is now 5.
    dropped = [e for e in after["entries"] if e["seq"] >= 5]
    saved_first = copy.deepcopy(before["checkpoints"])
    saved_first["checkpoints"] = saved_first["checkpoints"][:1]
    base = {"entries": after["entries"], "checkpoints": after["checkpoints"], "publicKeyHex": after["public_key"]}
    results = _node(tmp_path, [
        {"op": "verifyLog", "args": [base], "options": {"periodDays": 730}},
        {"op": "verifySavedCheckpoints", "args": [before["checkpoints_text"], {"entries": after["entries"]}]},
        {"op": "verifySavedCheckpoints", "args": [saved_first, {"entries": after["entries"], "checkpoints": after["checkpoints"]}]},
        {"op": "verifySavedCheckpoints", "args": [saved_first, {"entries": after["entries"]}]},
        {"op": "verifyLog", "args": [{**base, "checkpoints": unanchored}]},
        {"op": "verifySavedCheckpoints", "args": [before["checkpoints_text"], {"entries": moved_base}]},
        {"op": "verifyLog", "args": [{**base, "entries": dropped}]},
        {"op": "verifyLog", "args": [base], "options": {"periodDays": 1000}},
    ])
    log, saved, saved_pruned, saved_unanchored, no_anchor, new_base, no_prune, longer_period = results
    assert log["ok"] is True, log["problems"]
    assert (log["firstSeq"], log["base"]["seq"], log["base"]["hash"]) == (3, 2, before["entries"][1]["hash"])
    # Saved at 2 (now the base: compared with the served base hash) and at 3 (the anchor).
    assert saved["ok"] is True, saved["problems"]
    assert [(s["seq"], s["status"]) for s in saved["saved"]] == [(2, "base"), (3, "matched")]
    # Saved at 2 only, with the served anchor: pruned is not tampering, but needs the anchor.
    assert saved_pruned["ok"] is True and saved_pruned["saved"][0]["status"] == "base"
    assert (saved_unanchored["ok"], saved_unanchored["problem"]["check"]) == (False, "start-unanchored")
    assert (no_anchor["problem"]["seq"], no_anchor["problem"]["check"]) == (3, "start-unanchored")
    assert new_base["ok"] is False and new_base["problem"]["seq"] == 2 and new_base["problem"]["check"] == "checkpoint-mismatch"
    assert no_prune["ok"] is False and no_prune["problem"]["seq"] == 5
    assert {p["check"] for p in no_prune["problems"]} >= {"start-unanchored", "start-unrecorded"}
    assert longer_period["ok"] is False and longer_period["problem"]["check"] == "prune-invalid"


def test_a_saved_checkpoint_older_than_the_pruned_start_is_reported_as_pruned(app, client, partners, clock, tmp_path):
    headers = bearer(partners.add("dpo_office", "DPO Mechelen")[1])  # entry 1, signed
    assert partners.run("audit", "checkpoint") == "signed checkpoint at entry 1\n"
    for _ in range(2):
        partners.add("prevention_service", f"Preventiedienst {uuid.uuid4().hex[:6]}")
    assert partners.run("audit", "checkpoint") == "signed checkpoint at entry 3\n"
    saved = _dpo_read(client, headers)["checkpoints_text"]
    clock.advance(days=731)
    partners.add("prevention_service", "Preventiedienst Nieuw")
    app.extensions["safesignal"].retention.run()
    after = _dpo_read(client, headers)
    assert after["entries"][0]["seq"] == 3
    result = _saved(tmp_path, saved, after["entries"], checkpoints=after["checkpoints"])
    assert result["ok"] is True, result["problems"]
    assert [(s["seq"], s["status"]) for s in result["saved"]] == [(1, "pruned"), (3, "matched")]
    assert any("pruned" in note for note in result["notes"])
    # The same saved file when the served start is not anchored: not "pruned", a problem.
    bare = _saved(tmp_path, saved, after["entries"][1:])
    assert (bare["ok"], bare["problem"]["seq"], bare["problem"]["check"]) == (False, 4, "start-unanchored")
    assert [(s["seq"], s["status"]) for s in bare["saved"]] == [(1, "pruned"), (3, "base")]


# --- the page module ------------------------------------------------------------------------------

DATASET = {
    "entriesUrl": "/dpo/audit/entries", "checkpointsUrl": "/dpo/audit/checkpoints", "pageSize": "4",
    "msgOk": "OK {first}-{last}, {checkpoints} checkpoints, {unsigned} unsigned, key {key_id}",
    "msgBroken": "KAPOT bij {seq}: {problem}", "msgCheckEntryHash": "inhoud gewijzigd", "msgMac": "MAC: enkel de server",
    "msgNokey": "GEEN ED25519", "msgFetchError": "HTTP {status}", "msgSavedOk": "BEWAARD OK {matched}/{pruned}",
    "msgSavedBroken": "BEWAARD KAPOT bij {seq}: {problem}", "msgFileError": "GEEN BESTAND", "msgNotSaved": "NIET BEWAARD.",
    "filename": "audit-{date}-{last}.json",
}


def _page(tmp_path: Path, served: dict[str, Any], action: str, entries: list[dict[str, Any]] | None = None,
          **extra: Any) -> dict[str, Any]:
    no_ed25519 = extra.pop("noEd25519", False)
    args = {"dataset": {**DATASET, **extra.pop("dataset", {})}, "entries": served["entries"] if entries is None else entries,
            "checkpointsText": served["checkpoints_text"], "action": action, **extra}
    return _node(tmp_path, [{"op": "page", "args": [args], "noEd25519": no_ed25519}])[0]


def test_the_page_verifies_saves_and_rechecks_with_the_servers_texts(app, served, tmp_path):
    first, second, last = served["first"], served["second"], served["last"]
    key_id = _signer(app).key_id
    verified = _page(tmp_path, served, "verify")
    assert verified["status"] == f"OK 1-{last}, 2 checkpoints, {last - second} unsigned, key {key_id}"
    assert "MAC: enkel de server" in verified["details"]
    assert verified["busy"] == "false" and verified["disabled"] is False and verified["downloads"] == []
    # Checkpoints first, then every page of entries, all with the session cookie.
    requests = verified["requests"]
    assert requests[0]["path"] == "/dpo/audit/checkpoints" and all(r["credentials"] == "same-origin" for r in requests)
    assert [r["query"] for r in requests[1:]] == [f"?after={after}&limit=4" for after in range(0, last, 4)]

    broken = _page(tmp_path, served, "verify", _one_char(served["entries"], 3))
    assert broken["status"] == "KAPOT bij 3: inhoud gewijzigd"
    assert "3: inhoud gewijzigd" in broken["details"]

    saved = _page(tmp_path, served, "save")
    assert saved["downloads"] == [{"name": f"audit-2026-11-29-{second}.json", "body": served["checkpoints_text"]}]
    refused = _page(tmp_path, served, "save", _one_char(served["entries"], 3))
    assert refused["downloads"] == [] and refused["status"].startswith("NIET BEWAARD. KAPOT bij 3")

    rechecked = _page(tmp_path, served, "recheck", file=saved["downloads"][0]["body"])
    assert rechecked["status"] == "BEWAARD OK 2/0"
    against_edit = _page(tmp_path, served, "recheck", _one_char(served["entries"], 3), file=served["checkpoints_text"])
    assert against_edit["status"] == "BEWAARD KAPOT bij 3: inhoud gewijzigd"
    assert _page(tmp_path, served, "recheck", file="{not json")["status"] == "GEEN BESTAND"
    assert _page(tmp_path, served, "recheck", file='{"checkpoints": 5}')["status"] == "GEEN BESTAND"
    assert first < second


def test_the_page_says_when_the_browser_or_the_network_cannot(served, tmp_path):
    nokey = _page(tmp_path, served, "verify", noEd25519=True)
    assert nokey["status"] == "GEEN ED25519" and nokey["disabled"] is False
    forbidden = _page(tmp_path, served, "verify", status=403)
    assert forbidden["status"] == "HTTP 403" and forbidden["busy"] == "false"
    # English when the page gives no texts.
    english = _page(tmp_path, served, "verify", dataset={"msgOk": "", "msgMac": ""})
    assert english["status"].startswith("Verified in this browser: entries 1 to ")
    assert any("MACs can only be checked by the server" in line for line in english["details"])
