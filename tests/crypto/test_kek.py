import base64
import copy
import hashlib
import os
import pickle
import stat

import pytest

from crypto.errors import CryptoError, KekError
from crypto.kek import KekSet, KeyEncryptionKey, LocalKek

MATERIAL = bytes(range(32))
DATA_KEY = bytes(range(200, 232))
CONTEXT = b"report|2025-03-01|key-id"


@pytest.fixture
def kek():
    return LocalKek(MATERIAL)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode()


def test_wrap_unwrap_round_trip(kek):
    wrapped = kek.wrap(DATA_KEY, CONTEXT)
    assert DATA_KEY not in wrapped
    assert kek.unwrap(wrapped, CONTEXT) == DATA_KEY


def test_wrap_is_randomised(kek):
    assert kek.wrap(DATA_KEY, CONTEXT) != kek.wrap(DATA_KEY, CONTEXT)


def test_other_context_fails(kek):
    wrapped = kek.wrap(DATA_KEY, CONTEXT)
    with pytest.raises(KekError, match=kek.kek_id):
        kek.unwrap(wrapped, CONTEXT + b"x")


def test_other_kek_fails(kek):
    wrapped = kek.wrap(DATA_KEY, CONTEXT)
    other = LocalKek(bytes(32))
    with pytest.raises(KekError) as info:
        other.unwrap(wrapped, CONTEXT)
    assert other.kek_id in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_tampered_or_truncated_wrap_fails(kek):
    wrapped = kek.wrap(DATA_KEY, CONTEXT)
    for position in range(len(wrapped)):
        tampered = bytearray(wrapped)
        tampered[position] ^= 0x01
        with pytest.raises(KekError):
            kek.unwrap(bytes(tampered), CONTEXT)
    for length in range(len(wrapped)):
        with pytest.raises(KekError):
            kek.unwrap(wrapped[:length], CONTEXT)


def test_kek_id_identifies_without_revealing(kek):
    assert kek.kek_id.startswith("local:")
    assert len(kek.kek_id) == len("local:") + 16
    assert kek.kek_id == LocalKek(MATERIAL).kek_id
    assert kek.kek_id != LocalKek(bytes(32)).kek_id
    # Domain separated: not simply a prefix of SHA-256 over the material.
    assert kek.kek_id[6:] != hashlib.sha256(MATERIAL).hexdigest()[:16]
    assert kek.kek_id[6:] == hashlib.sha256(b"safesignal/kek-id/v1\x00" + MATERIAL).hexdigest()[:16]


def test_local_kek_satisfies_protocol(kek):
    def wrap_with(k: KeyEncryptionKey) -> bytes:
        return k.wrap(DATA_KEY, CONTEXT)

    assert kek.unwrap(wrap_with(kek), CONTEXT) == DATA_KEY


@pytest.mark.parametrize("material", [bytes(31), bytes(33), b"", "x" * 32])
def test_material_length_is_checked(material):
    with pytest.raises(KekError):
        LocalKek(material)


def test_repr_has_no_material(kek):
    for text in (repr(kek), str(kek)):
        assert kek.kek_id in text
        assert MATERIAL.hex() not in text
        assert b64url(MATERIAL).rstrip("=") not in text
        assert repr(MATERIAL)[2:-1] not in text


def test_pickling_refused(kek):
    with pytest.raises(TypeError):
        pickle.dumps(kek)
    with pytest.raises(TypeError):
        copy.deepcopy(kek)


def test_from_b64_accepts_padded_and_unpadded(kek):
    assert LocalKek.from_b64(b64url(MATERIAL)).kek_id == kek.kek_id
    assert LocalKek.from_b64(b64url(MATERIAL).rstrip("=") + "\n").kek_id == kek.kek_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        b64url(bytes(31)),
        b64url(bytes(33)),
        base64.b64encode(b"\xff" * 32).decode(),  # standard alphabet: '/' is not base64url
        b64url(MATERIAL)[:-3] + "!!=",
        "é" * 43,
    ],
)
def test_from_b64_rejects_bad_text_without_echoing_it(text):
    with pytest.raises(KekError) as info:
        LocalKek.from_b64(text)
    assert info.value.__cause__ is None
    if text:
        assert text.strip() not in str(info.value)


def test_generate_file_creates_0600_and_loads(tmp_path):
    path = tmp_path / "kek.key"
    kek = LocalKek.generate_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert len(base64.urlsafe_b64decode(lines[0])) == 32
    assert LocalKek.from_file(path).kek_id == kek.kek_id
    assert LocalKek.from_file(path).unwrap(kek.wrap(DATA_KEY, CONTEXT), CONTEXT) == DATA_KEY


def test_generate_file_refuses_to_overwrite(tmp_path):
    path = tmp_path / "kek.key"
    path.write_text("precious\n")
    with pytest.raises(FileExistsError):
        LocalKek.generate_file(path)
    assert path.read_text() == "precious\n"


def test_generate_file_does_not_follow_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    link = tmp_path / "kek.key"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        LocalKek.generate_file(link)
    assert not target.exists()


def test_from_file_missing_or_bad(tmp_path):
    with pytest.raises(KekError, match="missing.key"):
        LocalKek.from_file(tmp_path / "missing.key")
    bad = tmp_path / "bad.key"
    bad.write_text(b64url(bytes(16)) + "\n")
    with pytest.raises(KekError, match="bad.key"):
        LocalKek.from_file(bad)


def test_kek_set_wraps_with_current_and_unwraps_by_id(kek):
    old = LocalKek(bytes(32))
    keks = KekSet(kek, previous=[old])
    assert keks.current is kek
    kek_id, wrapped = keks.wrap(DATA_KEY, CONTEXT)
    assert kek_id == kek.kek_id
    assert keks.unwrap(kek_id, wrapped, CONTEXT) == DATA_KEY
    old_wrapped = old.wrap(DATA_KEY, CONTEXT)
    assert keks.unwrap(old.kek_id, old_wrapped, CONTEXT) == DATA_KEY
    assert keks.kek_ids == {kek.kek_id, old.kek_id}


def test_kek_set_unknown_id_names_it(kek):
    keks = KekSet(kek)
    old = LocalKek(bytes(32))
    with pytest.raises(KekError, match=old.kek_id):
        keks.unwrap(old.kek_id, old.wrap(DATA_KEY, CONTEXT), CONTEXT)


def test_kek_set_wrong_kek_for_id_fails(kek):
    old = LocalKek(bytes(32))
    keks = KekSet(kek, previous=[old])
    # Wrapped by old, but labelled with the current id.
    with pytest.raises(KekError):
        keks.unwrap(kek.kek_id, old.wrap(DATA_KEY, CONTEXT), CONTEXT)


def test_kek_set_repr_has_ids_only(kek):
    text = repr(KekSet(kek, previous=[LocalKek(bytes(32))]))
    assert kek.kek_id in text
    assert MATERIAL.hex() not in text


def test_kek_error_is_crypto_error():
    assert issubclass(KekError, CryptoError)
