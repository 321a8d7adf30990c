"""Known-answer tests: stored ciphertexts, wrapped keys and pseudonyms.

The JSON files in vectors/ are produced by vectors/generate_vectors.py from
the documented formats, without the crypto package. If one of these tests
fails, a wire format changed and existing data would no longer decrypt.
"""

import json
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import DataKey, associated_data, decrypt, key_id_of
from crypto.errors import DecryptionError, KekError
from crypto.kek import KekSet, LocalKek
from crypto.keyring import KeyRing, WrappedKey
from crypto.pseudonym import Pseudonymizer

VECTORS = Path(__file__).parent / "vectors"


def load(name):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


ENVELOPE = load("envelope.json")
KEK = load("kek.json")
KEYRING = load("keyring.json")
PSEUDONYM = load("pseudonym.json")


def ids(vectors):
    return [v["description"] for v in vectors]


@pytest.mark.parametrize("v", ENVELOPE["valid"], ids=ids(ENVELOPE["valid"]))
def test_envelope_decrypts_known_ciphertext(v):
    key = DataKey(bytes.fromhex(v["key_id"]), bytes.fromhex(v["key"]))
    aad = associated_data(v["table"], bytes.fromhex(v["record_id"]))
    assert aad.hex() == v["aad"]
    ciphertext = bytes.fromhex(v["ciphertext"])
    assert key_id_of(ciphertext) == key.key_id
    assert decrypt(key, ciphertext, aad) == bytes.fromhex(v["plaintext"])


@pytest.mark.parametrize("v", ENVELOPE["valid"], ids=ids(ENVELOPE["valid"]))
def test_envelope_vector_matches_format_built_with_aesgcm(v):
    header = b"\x01" + bytes.fromhex(v["key_id"])
    nonce = bytes.fromhex(v["nonce"])
    sealed = AESGCM(bytes.fromhex(v["key"])).encrypt(
        nonce, bytes.fromhex(v["plaintext"]), header + bytes.fromhex(v["aad"])
    )
    assert bytes.fromhex(v["ciphertext"]) == header + nonce + sealed


@pytest.mark.parametrize("v", ENVELOPE["invalid"], ids=ids(ENVELOPE["invalid"]))
def test_envelope_rejects_known_bad_ciphertext(v):
    key = DataKey(bytes.fromhex(v["key_id"]), bytes.fromhex(v["key"]))
    aad = associated_data(v["table"], bytes.fromhex(v["record_id"]))
    with pytest.raises(DecryptionError):
        decrypt(key, bytes.fromhex(v["ciphertext"]), aad)


def test_kek_id_and_unwrap_known_vector():
    kek = LocalKek(bytes.fromhex(KEK["material"]))
    assert kek.kek_id == KEK["kek_id"]
    for w in KEK["wraps"]:
        wrapped, context = bytes.fromhex(w["wrapped"]), bytes.fromhex(w["context"])
        assert kek.unwrap(wrapped, context) == bytes.fromhex(w["data_key"])
        with pytest.raises(KekError):
            kek.unwrap(wrapped, context + b"\x00")


class OneRowStore:
    """A key table holding the vector's single row."""

    def __init__(self, row):
        self.row = row

    def by_id(self, key_id):
        return self.row if key_id == self.row.key_id else None

    def by_epoch(self, data_class, epoch):
        return self.row if (data_class, epoch) == (self.row.data_class, self.row.epoch) else None


def test_keyring_decrypts_known_row_and_payload():
    row = KEYRING["row"]
    stored = WrappedKey(
        key_id=bytes.fromhex(row["key_id"]),
        data_class=row["data_class"],
        epoch=date.fromisoformat(row["epoch"]),
        kek_id=row["kek_id"],
        wrapped=bytes.fromhex(row["wrapped"]),
    )
    ring = KeyRing(KekSet(LocalKek(bytes.fromhex(KEYRING["kek_material"]))))
    aad = associated_data(KEYRING["table"], bytes.fromhex(KEYRING["record_id"]))
    ciphertext = bytes.fromhex(KEYRING["ciphertext"])
    assert ring.decrypt(OneRowStore(stored), ciphertext, aad) == bytes.fromhex(KEYRING["plaintext"])
    assert ring.key_for_epoch(OneRowStore(stored), stored.data_class, stored.epoch).key_id == stored.key_id


@pytest.mark.parametrize("v", PSEUDONYM, ids=[f"{v['domain']}-{i}" for i, v in enumerate(PSEUDONYM)])
def test_pseudonym_known_answers(v):
    value = v["value"] if "value" in v else bytes.fromhex(v["value_hex"])
    p = Pseudonymizer(bytes.fromhex(v["key"]))
    assert p.pseudonym(v["domain"], value).hex() == v["pseudonym"]
    assert p.hexdigest(v["domain"], value) == v["pseudonym"]
