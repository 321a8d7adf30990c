"""Exposure Notification cryptography (Google/Apple, specification v1.2.1), as a phone does it.

The reference client (issue 5) and the tests use this to derive what phones broadcast from the
temporary exposure keys the server publishes; the server itself never derives identifiers.

    ENIntervalNumber(t)  = t // 600                      (10-minute windows since the epoch)
    RPIK                 = HKDF-SHA256(IKM=TEK, salt=None, info="EN-RPIK", L=16)
    RPI(j)               = AES-128(RPIK, "EN-RPI" || 0x000000000000 || LE32(j))
    AEMK                 = HKDF-SHA256(IKM=TEK, salt=None, info="EN-AEMK", L=16)
    AEM                  = AES-128-CTR(AEMK, IV=RPI) XOR metadata

RPI is one AES block: the specification uses AES as a pseudorandom permutation of a single,
never-repeated block (the interval number makes each block distinct for a key), which is what the
ECB mode of one block computes here. The AEM is not authenticated (the specification says so):
decrypted metadata must be validated by whoever reads it.
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INTERVAL_SECONDS = 600
ROLLING_PERIOD = 144  # intervals a key is valid for: one day
KEY_LENGTH = 16
_RPI_PREFIX = b"EN-RPI" + bytes(6)


def interval_number(moment: dt.datetime) -> int:
    """The ENIntervalNumber of a moment: 10-minute windows since the Unix epoch."""
    return int(moment.timestamp()) // INTERVAL_SECONDS


def _hkdf(tek: bytes, info: bytes) -> bytes:
    if len(tek) != KEY_LENGTH:
        raise ValueError("a temporary exposure key is 16 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=None, info=info).derive(tek)


def rpi_key(tek: bytes) -> bytes:
    """The rolling proximity identifier key of a temporary exposure key."""
    return _hkdf(tek, b"EN-RPIK")


def metadata_key(tek: bytes) -> bytes:
    """The associated encrypted metadata key of a temporary exposure key."""
    return _hkdf(tek, b"EN-AEMK")


def rolling_identifiers(rpik: bytes, start: int, count: int = ROLLING_PERIOD) -> list[bytes]:
    """The identifiers broadcast in intervals start .. start + count - 1."""
    if not (0 <= start and 0 <= count and start + count <= 2**32):
        raise ValueError("interval numbers are unsigned 32-bit")
    encryptor = Cipher(algorithms.AES(rpik), modes.ECB()).encryptor()  # one block per identifier
    return [encryptor.update(_RPI_PREFIX + (start + j).to_bytes(4, "little")) for j in range(count)]


def rolling_identifier(rpik: bytes, interval: int) -> bytes:
    """The identifier broadcast in one interval."""
    return rolling_identifiers(rpik, interval, 1)[0]


def encrypt_metadata(aemk: bytes, rpi: bytes, metadata: bytes) -> bytes:
    """AES-128-CTR of the Bluetooth metadata under the RPI as IV (its own inverse)."""
    cipher = Cipher(algorithms.AES(aemk), modes.CTR(rpi)).encryptor()
    return cipher.update(metadata) + cipher.finalize()


decrypt_metadata = encrypt_metadata
