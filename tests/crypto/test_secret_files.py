import base64
import os
import stat

import pytest

from crypto.errors import CryptoError
from crypto.secrets import create_secret_file, load_secret


def test_create_then_load(tmp_path):
    path = tmp_path / "pseudonym.key"
    secret = create_secret_file(path)
    assert len(secret) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret(path) == secret
    assert load_secret(str(path)) == secret


def test_created_secrets_differ(tmp_path):
    assert create_secret_file(tmp_path / "a") != create_secret_file(tmp_path / "b")


def test_create_refuses_to_overwrite(tmp_path):
    path = tmp_path / "pseudonym.key"
    first = create_secret_file(path)
    with pytest.raises(FileExistsError):
        create_secret_file(path)
    assert load_secret(path) == first


def test_file_is_one_base64url_line(tmp_path):
    path = tmp_path / "s"
    secret = create_secret_file(path)
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    assert base64.urlsafe_b64decode(text.strip()) == secret


def test_load_accepts_unpadded_without_newline(tmp_path):
    secret = bytes(range(32))
    path = tmp_path / "s"
    path.write_text(base64.urlsafe_b64encode(secret).decode().rstrip("="))
    assert load_secret(path) == secret


@pytest.mark.parametrize(
    "content",
    [b"", b"\n", base64.urlsafe_b64encode(bytes(16)), base64.urlsafe_b64encode(bytes(64)), b"%%%%not base64%%%%", b"\xff\xfe"],
)
def test_load_rejects_bad_content_without_echoing_it(tmp_path, content):
    path = tmp_path / "s"
    path.write_bytes(content)
    with pytest.raises(CryptoError) as info:
        load_secret(path)
    assert str(path) in str(info.value)
    assert info.value.__cause__ is None
    if content.strip():
        assert content.strip().decode("latin-1") not in str(info.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(CryptoError, match="missing"):
        load_secret(tmp_path / "missing")
