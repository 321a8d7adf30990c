"""The audit log's hash chain and signed checkpoints (crypto.audit), without a database.

The known answers below were computed from the formats documented in crypto/audit.py with hashlib,
struct and pyca/cryptography alone, not with the crypto package; the Ed25519 key is RFC 8032's
test 1. If a known-answer test fails, the chain's format changed and every stored log and every
checkpoint a data-protection officer kept would stop verifying.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import pickle
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.audit import (
    GENESIS,
    CheckpointSigner,
    canonical_json,
    checkpoint_message,
    entry_hash,
    public_key_id,
    timestamp,
    verify_checkpoint,
)

UTC = dt.timezone.utc

# RFC 8032, section 7.1, TEST 1.
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_KEY_ID = "21fe31dfa154a261"  # sha256(RFC_PUBLIC)[:8], hex

# Two chained entries and a checkpoint of the second, as documented in crypto.audit.
ENTRY_1 = {
    "prev_hash": GENESIS, "seq": 1, "at": dt.datetime(2026, 11, 29, 10, 17, 30, 123456, tzinfo=UTC),
    "kind": "credential.issued", "actor": "cli", "detail": '{"count":3,"role":"pharmacy"}',
}
HASH_1 = bytes.fromhex("18eb17b413b21c513b42ac7ccc3997cb00c4a656f66566bda9f6cdadf243decb")
ENTRY_2 = {
    "prev_hash": HASH_1, "seq": 2, "at": dt.datetime(2026, 11, 29, 10, 17, 31, tzinfo=UTC),
    "kind": "retention.purged", "actor": "scheduler", "detail": '{"data_class":"audit_log","rows":0}',
}
HASH_2 = bytes.fromhex("f8c32d63c00a845d370a2e2e4de963fb26be687e44de5d8d5e940de0df90d166")
CHECKPOINT_AT = dt.datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
CHECKPOINT_MESSAGE = bytes.fromhex(
    "0000001b736166657369676e616c2f61756469742d636865636b706f696e74"  # domain
    "0000000101"  # version 1
    "000000080000000000000002"  # seq 2
    "00000020f8c32d63c00a845d370a2e2e4de963fb26be687e44de5d8d5e940de0df90d166"  # hash(2)
    "0000001b323032362d31312d32395431313a30303a30302e3030303030305a"  # 2026-11-29T11:00:00.000000Z
)
CHECKPOINT_SIGNATURE = bytes.fromhex(
    "8655bcc39de31f2a53e52a02c4d6944fa9592afaf38257a2dd97ede2b775daa8"
    "4eb3a22d00037fc5b0270e25f410c5211a42fd74f42102f2082fb31e0fe7070e"
)


def _length_prefixed(*fields: bytes) -> bytes:
    """The documented field encoding, rebuilt here: 4-byte big-endian length, then the bytes."""
    return b"".join(struct.pack(">I", len(field)) + field for field in fields)


def _spec_entry_hash(prev_hash: bytes, seq: int, at: str, kind: str, actor: str, detail: str) -> bytes:
    return hashlib.sha256(_length_prefixed(
        b"safesignal/audit-entry", b"\x01", prev_hash, struct.pack(">Q", seq),
        at.encode(), kind.encode(), actor.encode(), detail.encode(),
    )).digest()


# --- entry hashes -------------------------------------------------------------------------------


def test_genesis_is_32_zero_bytes():
    assert GENESIS == b"\x00" * 32


def test_entry_hashes_match_the_known_answers():
    assert entry_hash(**ENTRY_1) == HASH_1
    assert entry_hash(**ENTRY_2) == HASH_2


def test_entry_hash_is_the_documented_construction():
    assert entry_hash(**ENTRY_1) == _spec_entry_hash(
        GENESIS, 1, "2026-11-29T10:17:30.123456Z", "credential.issued", "cli", '{"count":3,"role":"pharmacy"}'
    )
    # Unicode in kind, actor and detail is hashed as UTF-8.
    assert entry_hash(HASH_1, 2**40, ENTRY_1["at"], "kïnd", "äctor", "détail") == _spec_entry_hash(
        HASH_1, 2**40, "2026-11-29T10:17:30.123456Z", "kïnd", "äctor", "détail"
    )


@pytest.mark.parametrize(
    ("field", "changed"),
    [
        ("prev_hash", HASH_1[:-1] + bytes([HASH_1[-1] ^ 1])),
        ("prev_hash", HASH_1[:31]),
        ("seq", 3),
        ("seq", 2**63),
        ("at", ENTRY_2["at"] + dt.timedelta(microseconds=1)),
        ("at", ENTRY_2["at"] - dt.timedelta(microseconds=1)),
        ("kind", "retention.purgeD"),
        ("kind", "retention.purged "),
        ("actor", "cli"),
        ("actor", ""),
        ("detail", '{"data_class":"audit_log","rows":1}'),
        ("detail", '{"data_class": "audit_log","rows":0}'),  # same JSON value, other text
        ("detail", ""),
    ],
)
def test_changing_any_single_field_changes_the_hash(field, changed):
    assert entry_hash(**{**ENTRY_2, field: changed}) != HASH_2


def test_every_bit_of_the_previous_hash_is_committed_to():
    hashes = {entry_hash(**{**ENTRY_2, "prev_hash": (int.from_bytes(HASH_1, "big") ^ (1 << bit)).to_bytes(32, "big")})
              for bit in range(256)}
    assert len(hashes) == 256 and HASH_2 not in hashes


def test_moving_text_between_fields_changes_the_hash():
    # Without length prefixes, kind "ab" + actor "c" would hash like kind "a" + actor "bc".
    base = {**ENTRY_1, "kind": "ab", "actor": "c", "detail": "{}"}
    assert entry_hash(**base) != entry_hash(**{**base, "kind": "a", "actor": "bc"})
    assert entry_hash(**base) != entry_hash(**{**base, "actor": "", "detail": "c{}"})


def test_the_same_instant_in_another_timezone_hashes_the_same():
    brussels = dt.timezone(dt.timedelta(hours=1))
    assert entry_hash(**{**ENTRY_1, "at": ENTRY_1["at"].astimezone(brussels)}) == HASH_1


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        entry_hash(**{**ENTRY_1, "at": ENTRY_1["at"].replace(tzinfo=None)})
    with pytest.raises(ValueError, match="naive"):
        checkpoint_message(1, HASH_1, CHECKPOINT_AT.replace(tzinfo=None))


def test_timestamp_is_utc_with_microseconds_and_z():
    assert timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    assert timestamp(dt.datetime(2026, 1, 2, 0, 30, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == "2026-01-01T22:30:00.000007Z"


# --- canonical JSON -----------------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_drops_spaces():
    assert canonical_json({"rows": 3, "data_class": "audit_log", "epochs": ["2026-11-01", "2026-11-02"]}) == (
        '{"data_class":"audit_log","epochs":["2026-11-01","2026-11-02"],"rows":3}'
    )


def test_canonical_json_ignores_insertion_order():
    assert canonical_json({"a": 1, "b": None, "c": True}) == canonical_json({"c": True, "b": None, "a": 1}) == '{"a":1,"b":null,"c":true}'


def test_canonical_json_is_ascii():
    text = canonical_json({"what": "café ✓"})
    assert text == '{"what":"caf\\u00e9 \\u2713"}'
    assert text.isascii()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_canonical_json_refuses_what_json_cannot_say(value):
    with pytest.raises(ValueError):
        canonical_json({"count": value})


# --- checkpoints ----------------------------------------------------------------------------------


def test_the_rfc_8032_seed_gives_its_public_key_and_key_id():
    signer = CheckpointSigner(RFC_SEED)
    assert signer.public_key == RFC_PUBLIC
    assert signer.key_id == RFC_KEY_ID == public_key_id(RFC_PUBLIC) == hashlib.sha256(RFC_PUBLIC).hexdigest()[:16]


def test_checkpoint_message_is_the_documented_construction():
    assert checkpoint_message(2, HASH_2, CHECKPOINT_AT) == CHECKPOINT_MESSAGE
    assert CHECKPOINT_MESSAGE == _length_prefixed(
        b"safesignal/audit-checkpoint", b"\x01", struct.pack(">Q", 2), HASH_2, b"2026-11-29T11:00:00.000000Z"
    )


def test_a_checkpoint_signature_matches_the_known_answer():
    # Ed25519 is deterministic: the same key and message give the same signature.
    assert CheckpointSigner(RFC_SEED).sign(2, HASH_2, CHECKPOINT_AT) == CHECKPOINT_SIGNATURE
    assert verify_checkpoint(RFC_PUBLIC, 2, HASH_2, CHECKPOINT_AT, CHECKPOINT_SIGNATURE)


def test_a_checkpoint_verifies_with_any_ed25519_implementation():
    """The DPO needs only the public key and the documented message, not this package."""
    Ed25519PublicKey.from_public_bytes(RFC_PUBLIC).verify(CHECKPOINT_SIGNATURE, CHECKPOINT_MESSAGE)


def test_a_fresh_key_signs_and_verifies():
    signer = CheckpointSigner(bytes(range(32)))
    signature = signer.sign(7, HASH_1, CHECKPOINT_AT)
    assert len(signature) == 64
    assert verify_checkpoint(signer.public_key, 7, HASH_1, CHECKPOINT_AT, signature)


@pytest.mark.parametrize(
    ("field", "changed"),
    [
        ("seq", 1),
        ("seq", 3),
        ("seq", 2 + 2**32),
        ("chain_hash", HASH_1),
        ("chain_hash", HASH_2[:-1] + bytes([HASH_2[-1] ^ 0x80])),
        ("chain_hash", HASH_2[:31]),
        ("chain_hash", GENESIS),
        ("at", CHECKPOINT_AT + dt.timedelta(microseconds=1)),
        ("at", CHECKPOINT_AT - dt.timedelta(microseconds=1)),
        ("at", CHECKPOINT_AT + dt.timedelta(days=365)),
    ],
)
def test_a_signature_over_another_seq_hash_or_time_fails(field, changed):
    claim = {"seq": 2, "chain_hash": HASH_2, "at": CHECKPOINT_AT, **{field: changed}}
    assert not verify_checkpoint(RFC_PUBLIC, claim["seq"], claim["chain_hash"], claim["at"], CHECKPOINT_SIGNATURE)


def test_the_same_instant_in_another_timezone_verifies():
    at = CHECKPOINT_AT.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert verify_checkpoint(RFC_PUBLIC, 2, HASH_2, at, CHECKPOINT_SIGNATURE)


def test_a_wrong_key_fails():
    other = CheckpointSigner(bytes(32))
    assert other.public_key != RFC_PUBLIC and other.key_id != RFC_KEY_ID
    assert not verify_checkpoint(other.public_key, 2, HASH_2, CHECKPOINT_AT, CHECKPOINT_SIGNATURE)
    # ...and a checkpoint the other key signed does not pass as ours.
    forged = other.sign(2, HASH_2, CHECKPOINT_AT)
    assert not verify_checkpoint(RFC_PUBLIC, 2, HASH_2, CHECKPOINT_AT, forged)


@pytest.mark.parametrize("position", range(64))
def test_a_flipped_byte_anywhere_in_the_signature_fails(position):
    signature = bytearray(CHECKPOINT_SIGNATURE)
    signature[position] ^= 0x01
    assert not verify_checkpoint(RFC_PUBLIC, 2, HASH_2, CHECKPOINT_AT, bytes(signature))


@pytest.mark.parametrize(
    "signature",
    [b"", CHECKPOINT_SIGNATURE[:63], CHECKPOINT_SIGNATURE + b"\x00", bytes(64), b"\xff" * 64],
    ids=["empty", "truncated", "extended", "zeros", "ones"],
)
def test_a_malformed_signature_fails_without_raising(signature):
    assert not verify_checkpoint(RFC_PUBLIC, 2, HASH_2, CHECKPOINT_AT, signature)


@pytest.mark.parametrize("public_key", [b"", RFC_PUBLIC[:31], RFC_PUBLIC + b"\x00"], ids=["empty", "short", "long"])
def test_a_malformed_public_key_fails_without_raising(public_key):
    assert not verify_checkpoint(public_key, 2, HASH_2, CHECKPOINT_AT, CHECKPOINT_SIGNATURE)


def test_an_entry_hash_preimage_is_never_a_checkpoint_message():
    # Different domains: a signature over a checkpoint can never be read as one over something else.
    assert not CHECKPOINT_MESSAGE.startswith(_length_prefixed(b"safesignal/audit-entry"))
    assert checkpoint_message(2, HASH_2, CHECKPOINT_AT) != _length_prefixed(
        b"safesignal/audit-entry", b"\x01", struct.pack(">Q", 2), HASH_2, b"2026-11-29T11:00:00.000000Z"
    )


# --- the signing key as an object ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33), RFC_SEED.hex(), bytearray(RFC_SEED), None],
                         ids=["empty", "31 bytes", "33 bytes", "hex text", "bytearray", "None"])
def test_a_seed_that_is_not_32_bytes_is_refused(seed):
    with pytest.raises(ValueError, match="32 bytes"):
        CheckpointSigner(seed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "copier",
    [pickle.dumps, lambda s: pickle.dumps(s, protocol=0), lambda s: pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL),
     copy.copy, copy.deepcopy],
    ids=["pickle", "pickle protocol 0", "pickle highest protocol", "copy", "deepcopy"],
)
def test_a_signer_refuses_pickling_and_copying(copier):
    with pytest.raises(TypeError, match="cannot be pickled"):
        copier(CheckpointSigner(RFC_SEED))


def test_a_signers_repr_shows_its_key_id_and_no_secret():
    signer = CheckpointSigner(RFC_SEED)
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        assert text == f"CheckpointSigner(key_id={RFC_KEY_ID!r})"
        assert RFC_SEED.hex() not in text and RFC_SEED.hex()[:16] not in text
        assert repr(RFC_SEED)[2:20] not in text
    assert not hasattr(signer, "__dict__")  # nothing but the declared slots to dump


def test_a_signer_exposes_only_its_public_half():
    signer = CheckpointSigner(RFC_SEED)
    public = {name: getattr(signer, name) for name in dir(signer) if not name.startswith("_")}
    assert set(public) == {"key_id", "public_key", "sign"}
    assert RFC_SEED not in (public["public_key"], public["key_id"].encode())
