import copy
import pickle

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import envelope
from crypto.envelope import DataKey, associated_data, decrypt, encrypt, key_id_of
from crypto.errors import CryptoError, DecryptionError

KEY_ID = bytes(range(16))
MATERIAL = bytes(range(100, 132))
PLAINTEXT = b"report: 3 syringes, 1 pipe, Hauptbahnhof Nord"
AAD = associated_data("reports", b"record-0001")

# Segment boundaries of the documented format: version 1, key id 16, nonce 12,
# then ciphertext and 16-byte tag.
SEGMENTS = {"version": (0, 1), "key_id": (1, 17), "nonce": (17, 29)}


def segment_of(position, total):
    for name, (start, end) in SEGMENTS.items():
        if start <= position < end:
            return name
    return "tag" if position >= total - 16 else "ciphertext"


def assert_decryption_fails(call, *inputs):
    """Assert call() raises the one DecryptionError, with nothing attached."""
    with pytest.raises(DecryptionError) as info:
        call()
    exc = info.value
    assert str(exc) == "Decryption failed."
    assert exc.args == ("Decryption failed.",)
    assert exc.__cause__ is None
    assert exc.__context__ is None
    assert exc.__suppress_context__
    for data in inputs:
        if len(data) >= 4:
            assert data.hex() not in str(exc)
            assert repr(data)[2:-1] not in str(exc)


@pytest.fixture
def key():
    return DataKey(KEY_ID, MATERIAL)


@pytest.fixture
def ciphertext(key):
    return encrypt(key, PLAINTEXT, AAD)


@pytest.mark.parametrize("plaintext", [b"", b"x", PLAINTEXT, bytes(range(256)) * 40])
def test_round_trip(key, plaintext):
    assert decrypt(key, encrypt(key, plaintext, AAD), AAD) == plaintext


def test_layout_matches_documented_format(key, ciphertext):
    assert len(ciphertext) == 1 + 16 + 12 + len(PLAINTEXT) + 16
    assert ciphertext[0] == envelope.FORMAT_VERSION == 1
    assert ciphertext[1:17] == KEY_ID
    # The associated data covers the header, so the format can be opened by
    # plain AES-GCM given the documented layout.
    opened = AESGCM(MATERIAL).decrypt(ciphertext[17:29], ciphertext[29:], ciphertext[:17] + AAD)
    assert opened == PLAINTEXT


def test_every_encryption_draws_a_fresh_nonce(key):
    ciphertexts = [encrypt(key, PLAINTEXT, AAD) for _ in range(200)]
    assert len({c[17:29] for c in ciphertexts}) == 200
    assert len(set(ciphertexts)) == 200


def test_encrypt_takes_no_nonce(key):
    with pytest.raises(TypeError):
        encrypt(key, PLAINTEXT, AAD, nonce=b"\x00" * 12)


def test_associated_data_is_required(key, ciphertext):
    with pytest.raises(TypeError):
        encrypt(key, PLAINTEXT, None)
    with pytest.raises(TypeError):
        decrypt(key, ciphertext, None)


@pytest.mark.parametrize(
    "other_aad",
    [
        associated_data("reports", b"record-0002"),
        associated_data("devices", b"record-0001"),
        associated_data("reports", b"record-000"),
        b"",
        AAD + b"\x00",
    ],
    ids=["other-record", "other-table", "prefix-record", "empty", "extended"],
)
def test_wrong_associated_data_fails(key, ciphertext, other_aad):
    assert_decryption_fails(lambda: decrypt(key, ciphertext, other_aad), ciphertext, other_aad)


def _positions():
    total = 1 + 16 + 12 + len(PLAINTEXT) + 16
    return [pytest.param(i, id=f"{segment_of(i, total)}-{i}") for i in range(total)]


@pytest.mark.parametrize("position", _positions())
@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_flipped_bit_in_every_position_fails(key, ciphertext, position, mask):
    tampered = bytearray(ciphertext)
    tampered[position] ^= mask
    tampered = bytes(tampered)
    assert_decryption_fails(lambda: decrypt(key, tampered, AAD), tampered)


def test_every_segment_is_covered_by_flip_test():
    total = 1 + 16 + 12 + len(PLAINTEXT) + 16
    assert {segment_of(i, total) for i in range(total)} == {
        "version", "key_id", "nonce", "ciphertext", "tag",
    }


def test_truncation_at_every_length_fails(key, ciphertext):
    for length in range(len(ciphertext)):
        truncated = ciphertext[:length]
        assert_decryption_fails(lambda: decrypt(key, truncated, AAD), truncated)


def test_appended_byte_fails(key, ciphertext):
    assert_decryption_fails(lambda: decrypt(key, ciphertext + b"\x00", AAD))


def test_other_key_id_fails(ciphertext):
    other = DataKey(bytes(16), MATERIAL)
    assert_decryption_fails(lambda: decrypt(other, ciphertext, AAD))


def test_same_key_id_other_material_fails(ciphertext):
    impostor = DataKey(KEY_ID, bytes(32))
    assert_decryption_fails(lambda: decrypt(impostor, ciphertext, AAD))


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_fails(key, ciphertext, version):
    # Re-seal with a valid tag over the altered header, so only the version
    # check can reject it.
    header = bytes([version]) + KEY_ID
    nonce = ciphertext[17:29]
    forged = header + nonce + AESGCM(MATERIAL).encrypt(nonce, PLAINTEXT, header + AAD)
    assert_decryption_fails(lambda: decrypt(key, forged, AAD))
    assert_decryption_fails(lambda: key_id_of(forged))


def test_key_id_of(ciphertext):
    assert key_id_of(ciphertext) == KEY_ID


@pytest.mark.parametrize("length", [0, 1, 17, 29, 44])
def test_key_id_of_too_short_fails(ciphertext, length):
    assert_decryption_fails(lambda: key_id_of(ciphertext[:length]))


def test_key_id_of_minimal_ciphertext(key):
    assert key_id_of(encrypt(key, b"", AAD)) == KEY_ID


def test_decryption_error_is_a_crypto_error():
    assert issubclass(DecryptionError, CryptoError)
    assert str(DecryptionError()) == "Decryption failed."


def test_associated_data_is_unambiguous():
    values = {
        associated_data("ab", b"c"),
        associated_data("a", b"bc"),
        associated_data("abc", b"\x00"),
        associated_data("reports", b"1"),
        associated_data("reports", b"\x00\x00\x00\x011"),
    }
    assert len(values) == 5


def test_associated_data_encoding():
    aad = associated_data("reports", b"\x07")
    assert aad == (
        b"\x00\x00\x00\x0asafesignal"
        b"\x00\x00\x00\x01\x01"
        b"\x00\x00\x00\x07reports"
        b"\x00\x00\x00\x01\x07"
    )


@pytest.mark.parametrize("table, record_id", [("", b"1"), ("reports", b""), ("reports", "1"), (b"reports", b"1")])
def test_associated_data_rejects_bad_arguments(table, record_id):
    with pytest.raises(TypeError):
        associated_data(table, record_id)


@pytest.mark.parametrize(
    "key_id, material",
    [(bytes(15), MATERIAL), (bytes(17), MATERIAL), (KEY_ID, bytes(16)), (KEY_ID, bytes(33)), ("k" * 16, MATERIAL)],
)
def test_data_key_validates_lengths(key_id, material):
    with pytest.raises(ValueError):
        DataKey(key_id, material)


def test_generated_keys_are_distinct():
    a, b = DataKey.generate(), DataKey.generate()
    assert len(a.key_id) == 16
    assert a.key_id != b.key_id
    assert a.key_id not in encrypt(b, PLAINTEXT, AAD)


def test_data_key_repr_shows_only_key_id(key):
    for text in (repr(key), str(key), f"{key}", f"{key!r}"):
        assert KEY_ID.hex() in text
        assert MATERIAL.hex() not in text
        assert repr(MATERIAL)[2:-1] not in text
    assert not hasattr(key, "__dict__")


def test_data_key_refuses_pickling_and_copying(key):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(key, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)
    with pytest.raises(TypeError):
        key.__getstate__()


def test_key_id_is_read_only(key):
    with pytest.raises(AttributeError):
        key.key_id = bytes(16)
