import base64
import copy
import hashlib
import hmac
import os
import pickle

import pytest

from crypto.pseudonym import Pseudonymizer

KEY = bytes(range(32))


@pytest.fixture
def pseudonymizer():
    return Pseudonymizer(KEY)


def reference(key, domain, value):
    """The documented construction, written out independently."""
    encoded = domain.encode("utf-8")
    if isinstance(value, str):
        value = value.encode("utf-8")
    return hmac.digest(key, len(encoded).to_bytes(4, "big") + encoded + value, "sha256")


def test_deterministic(pseudonymizer):
    first = pseudonymizer.pseudonym("reporter", "+491701234567")
    assert len(first) == 32
    assert pseudonymizer.pseudonym("reporter", "+491701234567") == first
    assert Pseudonymizer(KEY).pseudonym("reporter", "+491701234567") == first


def test_str_value_is_utf8(pseudonymizer):
    assert pseudonymizer.pseudonym("reporter", "Jürgen") == pseudonymizer.pseudonym(
        "reporter", "Jürgen".encode()
    )


def test_domain_separation(pseudonymizer):
    value = "a1b2c3"
    outputs = {
        pseudonymizer.pseudonym(domain, value)
        for domain in ("reporter", "submission", "reporte", "reporter\x00")
    }
    assert len(outputs) == 4


def test_domain_boundary_is_unambiguous(pseudonymizer):
    # Without the length prefix both would hash b"reportersubmission".
    assert pseudonymizer.pseudonym("reporter", "submission") != pseudonymizer.pseudonym(
        "reportersubmission", ""
    )
    assert pseudonymizer.pseudonym("ab", "c") != pseudonymizer.pseudonym("a", "bc")


def test_different_values_and_keys_differ(pseudonymizer):
    assert pseudonymizer.pseudonym("reporter", "a") != pseudonymizer.pseudonym("reporter", "b")
    assert Pseudonymizer(bytes(32)).pseudonym("reporter", "a") != pseudonymizer.pseudonym(
        "reporter", "a"
    )


@pytest.mark.parametrize("key_size", [32, 33, 64, 65, 100])
def test_matches_reference_construction(key_size):
    key = os.urandom(key_size)
    p = Pseudonymizer(key)
    for domain, value in [("reporter", "x"), ("submission", b"\x00" * 100), ("d" * 70, "é" * 50), ("r", "")]:
        assert p.pseudonym(domain, value) == reference(key, domain, value)


def test_not_a_plain_hash(pseudonymizer):
    value = b"+491701234567"
    assert pseudonymizer.pseudonym("reporter", value) != hashlib.sha256(value).digest()


def test_hexdigest(pseudonymizer):
    assert pseudonymizer.hexdigest("reporter", "x") == pseudonymizer.pseudonym("reporter", "x").hex()


def test_many_domains_stay_correct(pseudonymizer):
    # More domains than the prefix cache holds.
    for n in range(200):
        assert pseudonymizer.pseudonym(f"d{n}", "v") == reference(KEY, f"d{n}", "v")


@pytest.mark.parametrize("key", [bytes(31), b"", "k" * 32])
def test_short_or_non_bytes_key_rejected(key):
    with pytest.raises(ValueError):
        Pseudonymizer(key)


@pytest.mark.parametrize("domain, value", [("", "v"), (b"reporter", "v"), ("reporter", 5), ("reporter", None)])
def test_bad_arguments_rejected(pseudonymizer, domain, value):
    with pytest.raises(TypeError):
        pseudonymizer.pseudonym(domain, value)


def test_repr_has_no_material(pseudonymizer):
    for text in (repr(pseudonymizer), str(pseudonymizer)):
        assert KEY.hex() not in text
        assert base64.urlsafe_b64encode(KEY).decode().rstrip("=") not in text
        assert repr(KEY)[2:-1] not in text
    assert not hasattr(pseudonymizer, "__dict__")


def test_pickling_refused(pseudonymizer):
    with pytest.raises(TypeError):
        pickle.dumps(pseudonymizer)
    with pytest.raises(TypeError):
        copy.copy(pseudonymizer)
