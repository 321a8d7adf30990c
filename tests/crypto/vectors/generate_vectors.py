"""Generate the known-answer vectors in this directory.

    cd /work/main && .venv/bin/python tests/crypto/vectors/generate_vectors.py

This script does NOT import the crypto package: it builds every expected
value from the documented formats with cryptography's AESGCM, hmac and
hashlib directly, so the vectors pin the formats independently of the code
under test. All inputs (keys, nonces) are fixed, so a run reproduces the
committed files byte for byte; a diff after running it means a format changed,
which breaks every stored ciphertext and wrapped key.
"""

import hashlib
import hmac
import json
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = Path(__file__).parent


def lp(*fields):
    """Length-prefixed fields: 4-byte big-endian length, then the bytes."""
    return b"".join(len(f).to_bytes(4, "big") + f for f in fields)


def envelope_aad(table, record_id):
    return lp(b"safesignal", b"\x01", table.encode("utf-8"), record_id)


def seal(key, key_id, nonce, plaintext, aad, version=1):
    header = bytes([version]) + key_id
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def envelope_vectors():
    cases = [
        ("empty plaintext", bytes(32), bytes(16), bytes(12), "reports", b"\x00", b""),
        (
            "short report",
            bytes(range(32)),
            bytes(range(16)),
            bytes(range(12)),
            "reports",
            bytes.fromhex("0190c7a2e4b87d3f9a1b2c3d4e5f6071"),
            b'{"kind": "syringes", "count": 3}',
        ),
        (
            "unicode table, long payload",
            bytes(range(255, 223, -1)),
            b"\xa5" * 16,
            b"\xff" * 12,
            "signals_\u00e4",
            b"row-42",
            bytes(range(256)) * 3,
        ),
    ]
    valid = []
    for description, key, key_id, nonce, table, record_id, plaintext in cases:
        aad = envelope_aad(table, record_id)
        valid.append(
            {
                "description": description,
                "key": key.hex(),
                "key_id": key_id.hex(),
                "nonce": nonce.hex(),
                "table": table,
                "record_id": record_id.hex(),
                "aad": aad.hex(),
                "plaintext": plaintext.hex(),
                "ciphertext": seal(key, key_id, nonce, plaintext, aad).hex(),
            }
        )

    key, key_id, nonce = bytes(range(32)), bytes(range(16)), bytes(range(12))
    plaintext = b"payload"
    aad = envelope_aad("reports", b"\x01")
    good = seal(key, key_id, nonce, plaintext, aad)
    invalid = []

    def bad(description, ciphertext, table="reports", record_id=b"\x01"):
        invalid.append(
            {
                "description": description,
                "key": key.hex(),
                "key_id": key_id.hex(),
                "table": table,
                "record_id": record_id.hex(),
                "ciphertext": ciphertext.hex(),
            }
        )

    bad("other record id", good, record_id=b"\x02")
    bad("other table", good, table="devices")
    bad("version 2 with a valid tag", seal(key, key_id, nonce, plaintext, aad, version=2))
    bad("version 0 with a valid tag", seal(key, key_id, nonce, plaintext, aad, version=0))
    bad("other key id", seal(key, b"\x01" * 16, nonce, plaintext, aad))
    bad("header not authenticated", b"\x01" + key_id + nonce + AESGCM(key).encrypt(nonce, plaintext, aad))
    bad("tag truncated", good[:-1])
    bad("header only", good[:29])
    bad("empty", b"")
    return {"valid": valid, "invalid": invalid}


KEK_MATERIAL = bytes(range(64, 96))


def kek_id(material):
    return "local:" + hashlib.sha256(b"safesignal/kek-id/v1\x00" + material).digest()[:8].hex()


def kek_wrap(material, nonce, data_key, context):
    aad = lp(b"safesignal/kek-wrap", b"\x01", kek_id(material).encode("ascii"), context)
    return b"\x01" + nonce + AESGCM(material).encrypt(nonce, data_key, aad)


def data_key_context(key_id, data_class, epoch):
    return lp(b"safesignal/data-key", b"\x01", key_id, data_class.encode("utf-8"), epoch.isoformat().encode("ascii"))


def kek_vectors():
    context = b"any caller context"
    data_key = bytes(range(128, 160))
    nonce = bytes(range(1, 13))
    return {
        "material": KEK_MATERIAL.hex(),
        "kek_id": kek_id(KEK_MATERIAL),
        "wraps": [
            {
                "context": context.hex(),
                "data_key": data_key.hex(),
                "nonce": nonce.hex(),
                "wrapped": kek_wrap(KEK_MATERIAL, nonce, data_key, context).hex(),
            }
        ],
    }


def keyring_vectors():
    """A stored key row and a payload sealed under it, end to end."""
    key_id = bytes.fromhex("6b65792d30312d7265706f72742d3031")
    data_class, epoch = "report", date(2025, 3, 1)
    data_key = bytes(range(160, 192))
    wrap_nonce = bytes(range(20, 32))
    payload_nonce = bytes(range(40, 52))
    table, record_id = "reports", bytes.fromhex("0190c7a2e4b87d3f9a1b2c3d4e5f6071")
    plaintext = b'{"kind": "pipe", "count": 1}'
    return {
        "kek_material": KEK_MATERIAL.hex(),
        "row": {
            "key_id": key_id.hex(),
            "data_class": data_class,
            "epoch": epoch.isoformat(),
            "kek_id": kek_id(KEK_MATERIAL),
            "wrapped": kek_wrap(
                KEK_MATERIAL, wrap_nonce, data_key, data_key_context(key_id, data_class, epoch)
            ).hex(),
        },
        "table": table,
        "record_id": record_id.hex(),
        "plaintext": plaintext.hex(),
        "ciphertext": seal(data_key, key_id, payload_nonce, plaintext, envelope_aad(table, record_id)).hex(),
    }


def pseudonym_vectors():
    cases = [
        (bytes(range(32)), "reporter", "+491701234567"),
        (bytes(range(32)), "submission", "+491701234567"),
        (bytes(range(32)), "reporter", ""),
        (b"\x0b" * 32, "submission", bytes.fromhex("0190c7a2e4b87d3f9a1b2c3d4e5f6071")),
        (bytes(range(100)), "reporter", "J\u00fcrgen \u2013 Stra\u00dfe 5"),
    ]
    out = []
    for key, domain, value in cases:
        encoded = value.encode("utf-8") if isinstance(value, str) else value
        d = domain.encode("utf-8")
        vector = {"key": key.hex(), "domain": domain}
        if isinstance(value, str):
            vector["value"] = value
        else:
            vector["value_hex"] = value.hex()
        vector["pseudonym"] = hmac.digest(key, len(d).to_bytes(4, "big") + d + encoded, "sha256").hex()
        out.append(vector)
    return out


def write(name, data):
    (HERE / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write("envelope.json", envelope_vectors())
    write("kek.json", kek_vectors())
    write("keyring.json", keyring_vectors())
    write("pseudonym.json", pseudonym_vectors())
