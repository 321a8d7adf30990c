"""Exposure Notification key export files: the standard format, its signature, and every way to break one."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from crypto import exposure_export_pb2 as pb
from crypto.errors import CryptoError, ExportError, SigningKeyError
from crypto.exposure_export import (
    HEADER,
    SIGNATURE_ALGORITHM,
    ExportFile,
    ExportKey,
    SignatureInfo,
    build_export,
    load_export_private_key,
    load_export_public_key,
    read_export,
)

INFO = SignatureInfo(key_id="BE", key_version="v1")
WINDOW = {"start": 1_740_000_000, "end": 1_740_086_400, "region": "BE"}
MARKER = b"MARKER-not-in-any-message"


def make_key(rng: random.Random, **fields) -> ExportKey:
    values = {
        "key_data": rng.randbytes(16),
        "rolling_start_interval_number": 2_900_016,
        "rolling_period": 144,
        "transmission_risk_level": rng.randrange(9),
        "report_type": 1,
        "days_since_onset_of_symptoms": rng.randrange(-14, 15),
    }
    return ExportKey(**(values | fields))


@pytest.fixture(scope="module")
def private_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def public_key(private_key):
    return private_key.public_key()


@pytest.fixture(scope="module")
def keys():
    rng = random.Random(7)
    return [
        make_key(rng),
        make_key(rng, days_since_onset_of_symptoms=None, report_type=2),
        make_key(rng, rolling_period=37, transmission_risk_level=0, days_since_onset_of_symptoms=-14),
        make_key(rng, rolling_start_interval_number=0, days_since_onset_of_symptoms=14, report_type=3),
        make_key(rng, key_data=bytes(16), transmission_risk_level=8, report_type=5),
        make_key(rng, key_data=b"\xff" * 16, rolling_period=1, report_type=0),
    ]


def build(keys, private_key, *, batch_num=2, batch_size=3, info=INFO):
    return build_export(
        keys, **WINDOW, batch_num=batch_num, batch_size=batch_size, private_key=private_key, info=info
    )


@pytest.fixture(scope="module")
def export(keys, private_key):
    return build(keys, private_key)


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A well-formed zip (right CRCs and sizes) of the given entries, so only read_export's own checks can fail."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def assert_export_fails(data: bytes, public_key, **kwargs) -> ExportError:
    """Assert read_export raises ExportError, with no chained cause and no input bytes in its message."""
    with pytest.raises(ExportError) as info:
        read_export(data, public_key, **kwargs)
    exc = info.value
    assert isinstance(exc, CryptoError)
    assert exc.__cause__ is None
    assert exc.__suppress_context__ or exc.__context__ is None
    message = str(exc)
    assert message
    for chunk in (MARKER, MARKER.hex().encode()):
        assert chunk.decode() not in message
    return exc


def pb_info() -> pb.SignatureInfo:
    """INFO as the SignatureInfo message build_export writes."""
    return pb.SignatureInfo(
        verification_key_version=INFO.key_version,
        verification_key_id=INFO.key_id,
        signature_algorithm=SIGNATURE_ALGORITHM,
    )


def resigned_sig(export_bin: bytes, private_key, **changes) -> bytes:
    """An export.sig over export_bin, valid except for the fields in changes."""
    fields = {
        "signature_info": pb_info(),
        "batch_num": 2,
        "batch_size": 3,
        "signature": private_key.sign(export_bin, ec.ECDSA(hashes.SHA256())),
    }
    return pb.TEKSignatureList(signatures=[pb.TEKSignature(**(fields | changes))]).SerializeToString()


# The happy path and the standard format


def test_round_trip(keys, private_key, public_key, export):
    assert read_export(export, public_key) == ExportFile(
        start=WINDOW["start"],
        end=WINDOW["end"],
        region="BE",
        batch_num=2,
        batch_size=3,
        keys=sorted(keys, key=lambda k: k.key_data),
        info=INFO,
    )


def test_the_archive_holds_exactly_export_bin_and_export_sig(export):
    with zipfile.ZipFile(io.BytesIO(export)) as archive:
        assert sorted(archive.namelist()) == ["export.bin", "export.sig"]
        assert archive.testzip() is None
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_deflating_saves_a_third_of_a_large_export(private_key):
    rng = random.Random(11)
    export = build([make_key(rng) for _ in range(5000)], private_key)
    assert len(export) < 0.7 * len(entries(export)["export.bin"])


def test_export_bin_starts_with_the_exact_header(export):
    assert HEADER == b"EK Export v1    "
    assert len(HEADER) == 16
    assert entries(export)["export.bin"][:16] == b"EK Export v1    "


def test_keys_are_written_sorted_by_key_data(private_key, public_key):
    rng = random.Random(3)
    keys = [make_key(rng) for _ in range(200)]
    export = build(keys, private_key)
    written = pb.TemporaryExposureKeyExport.FromString(entries(export)["export.bin"][16:]).keys
    key_data = [k.key_data for k in written]
    assert key_data == sorted(k.key_data for k in keys)
    assert key_data != [k.key_data for k in keys]  # the input order was not already sorted
    assert [k.key_data for k in read_export(export, public_key).keys] == key_data


def test_the_signature_verifies_with_cryptography_alone(keys, export, public_key):
    files = entries(export)
    signatures = pb.TEKSignatureList.FromString(files["export.sig"]).signatures
    assert len(signatures) == 1
    (signature,) = signatures
    assert signature.batch_num == 2 and signature.batch_size == 3
    assert signature.signature_info.signature_algorithm == "1.2.840.10045.4.3.2"
    assert signature.signature_info.verification_key_id == "BE"
    assert signature.signature_info.verification_key_version == "v1"
    public_key.verify(signature.signature, files["export.bin"], ec.ECDSA(hashes.SHA256()))  # raises if bad
    assert signature.signature[0] == 0x30  # DER: a SEQUENCE of r and s


def test_the_file_is_the_standard_format_read_by_the_generated_classes(keys, export):
    export_bin = entries(export)["export.bin"]
    message = pb.TemporaryExposureKeyExport.FromString(export_bin[16:])
    assert (message.start_timestamp, message.end_timestamp) == (WINDOW["start"], WINDOW["end"])
    assert message.region == "BE"
    assert (message.batch_num, message.batch_size) == (2, 3)
    assert len(message.signature_infos) == 1
    assert message.signature_infos[0].verification_key_id == "BE"
    assert message.signature_infos[0].signature_algorithm == SIGNATURE_ALGORITHM
    assert not message.signature_infos[0].HasField("app_bundle_id")
    assert not message.signature_infos[0].HasField("android_package")
    assert len(message.revised_keys) == 0
    by_data = {k.key_data: k for k in keys}
    assert len(message.keys) == len(keys)
    for written in message.keys:
        key = by_data[written.key_data]
        assert written.transmission_risk_level == key.transmission_risk_level
        assert written.rolling_start_interval_number == key.rolling_start_interval_number
        assert written.HasField("rolling_period") and written.rolling_period == key.rolling_period
        assert written.report_type == key.report_type
    revoked = next(k for k in message.keys if k.key_data == bytes(16))
    assert pb.TemporaryExposureKey.ReportType.Name(revoked.report_type) == "REVOKED"


def test_one_key_is_encoded_exactly_as_the_specification_numbers_its_fields(private_key):
    # Independent of our .proto: tag bytes written out from the specification's field numbers
    # and types (1 bytes, 2 int32, 3 int32, 4 int32, 5 enum, 6 sint32 zigzag).
    key = ExportKey(bytes(range(16)), 2_900_016, 144, 4, 1, -3)
    export_bin = entries(build([key], private_key))["export.bin"]
    encoded_key = (
        b"\x0a\x10" + bytes(range(16))  # 1: key_data, length 16
        + b"\x10\x04"  # 2: transmission_risk_level 4
        + b"\x18\xb0\x80\xb1\x01"  # 3: rolling_start_interval_number 2_900_016 as a varint
        + b"\x20\x90\x01"  # 4: rolling_period 144
        + b"\x28\x01"  # 5: report_type CONFIRMED_TEST
        + b"\x30\x05"  # 6: days_since_onset_of_symptoms -3, zigzag 5
    )
    assert export_bin.endswith(b"\x3a" + bytes([len(encoded_key)]) + encoded_key)  # 7: keys
    start = WINDOW["start"].to_bytes(8, "little")
    end = WINDOW["end"].to_bytes(8, "little")
    assert export_bin[16:].startswith(b"\x09" + start + b"\x11" + end + b"\x1a\x02BE" + b"\x20\x02\x28\x03")


def test_days_since_onset_none_round_trips_as_an_absent_field(private_key, public_key):
    rng = random.Random(5)
    keys = [make_key(rng, days_since_onset_of_symptoms=None), make_key(rng, days_since_onset_of_symptoms=0)]
    export = build(keys, private_key)
    written = pb.TemporaryExposureKeyExport.FromString(entries(export)["export.bin"][16:]).keys
    presence = {k.key_data: k.HasField("days_since_onset_of_symptoms") for k in written}
    assert presence == {keys[0].key_data: False, keys[1].key_data: True}
    read = {k.key_data: k.days_since_onset_of_symptoms for k in read_export(export, public_key).keys}
    assert read == {keys[0].key_data: None, keys[1].key_data: 0}


def test_an_empty_export_builds_and_reads(private_key, public_key):
    export = build([], private_key, batch_num=1, batch_size=1)
    read = read_export(export, public_key)
    assert read.keys == []
    assert (read.batch_num, read.batch_size, read.info) == (1, 1, INFO)


def test_a_file_signed_by_two_keys_verifies_with_either(keys, private_key, public_key):
    other = ec.generate_private_key(ec.SECP256R1())
    other_info = pb.SignatureInfo(
        verification_key_version="v2", verification_key_id="999", signature_algorithm=SIGNATURE_ALGORITHM
    )
    files = entries(build(keys, private_key))
    message = pb.TemporaryExposureKeyExport.FromString(files["export.bin"][16:])
    message.signature_infos.append(other_info)
    export_bin = HEADER + message.SerializeToString()
    ours = pb.TEKSignatureList.FromString(resigned_sig(export_bin, private_key)).signatures[0]
    theirs = pb.TEKSignature(
        signature_info=other_info,
        batch_num=2,
        batch_size=3,
        signature=other.sign(export_bin, ec.ECDSA(hashes.SHA256())),
    )
    export = rezip(
        {"export.bin": export_bin, "export.sig": pb.TEKSignatureList(signatures=[theirs, ours]).SerializeToString()}
    )
    assert read_export(export, public_key).info == INFO
    assert read_export(export, other.public_key()).info == SignatureInfo(key_id="999", key_version="v2")


# Every way to break a file


@pytest.mark.parametrize("where", ["header", "start_timestamp", "region", "batch_num", "key_data", "last byte"])
def test_a_flipped_byte_in_export_bin_fails(keys, export, public_key, where):
    files = entries(export)
    export_bin = files["export.bin"]
    position = {
        "header": 3,
        "start_timestamp": 16 + 1,
        "region": export_bin.index(b"BE", 16),
        "batch_num": export_bin.index(b"\x20\x02\x28\x03") + 1,
        "key_data": export_bin.index(keys[2].key_data) + 7,
        "last byte": len(export_bin) - 1,
    }[where]
    assert_export_fails(rezip(files | {"export.bin": flip(export_bin, position)}), public_key)


def test_a_flipped_byte_in_the_signature_fails(export, public_key):
    files = entries(export)
    signatures = pb.TEKSignatureList.FromString(files["export.sig"])
    for position in (0, 10, len(signatures.signatures[0].signature) - 1):
        damaged = pb.TEKSignatureList()
        damaged.CopyFrom(signatures)
        damaged.signatures[0].signature = flip(damaged.signatures[0].signature, position)
        assert_export_fails(rezip(files | {"export.sig": damaged.SerializeToString()}), public_key)


def test_every_flipped_byte_of_the_archive_fails_or_changes_nothing(keys, private_key, public_key):
    # Some zip bytes (timestamps, "version made by", attributes) are not covered by anything;
    # flipping them may leave a file that reads the same. No flip may raise anything but
    # ExportError, or make a file read differently.
    export = build(keys[:2], private_key)
    expected = read_export(export, public_key)
    failed = 0
    for position in range(len(export)):
        try:
            read = read_export(flip(export, position), public_key)
        except ExportError:
            failed += 1
        else:
            assert read == expected, position
    assert failed > len(export) * 3 // 4


def test_every_truncation_fails(keys, private_key, public_key):
    export = build(keys[:1], private_key)
    for length in range(len(export)):
        assert_export_fails(export[:length], public_key)


def test_the_wrong_public_key_fails(export):
    assert_export_fails(export, ec.generate_private_key(ec.SECP256R1()).public_key())


def test_a_signature_from_another_key_fails(export, public_key):
    files = entries(export)
    forged = resigned_sig(files["export.bin"], ec.generate_private_key(ec.SECP256R1()))
    assert_export_fails(rezip(files | {"export.sig": forged}), public_key)


def test_a_signature_with_another_batch_num_or_size_fails(export, private_key, public_key):
    files = entries(export)
    assert read_export(rezip(files | {"export.sig": resigned_sig(files["export.bin"], private_key)}), public_key)
    for changes in ({"batch_num": 1}, {"batch_size": 4}, {"batch_num": 3, "batch_size": 3}):
        sig = resigned_sig(files["export.bin"], private_key, **changes)
        assert_export_fails(rezip(files | {"export.sig": sig}), public_key)


@pytest.mark.parametrize(
    "info",
    [
        {"signature_algorithm": "1.2.840.10045.4.3.3"},  # ECDSA with SHA-384
        {"signature_algorithm": ""},
        {"verification_key_id": "FR"},  # a key export.bin does not name
        {"verification_key_version": "v2"},
    ],
)
def test_a_signature_info_other_than_export_bins_fails(export, private_key, public_key, info):
    files = entries(export)
    fields = {
        "verification_key_version": "v1",
        "verification_key_id": "BE",
        "signature_algorithm": SIGNATURE_ALGORITHM,
    }
    sig = resigned_sig(files["export.bin"], private_key, signature_info=pb.SignatureInfo(**(fields | info)))
    assert_export_fails(rezip(files | {"export.sig": sig}), public_key)


@pytest.mark.parametrize(
    "export_sig",
    [b"", pb.TEKSignatureList().SerializeToString(), b"\xff" * 40, MARKER],
    ids=["empty", "no-signatures", "not-protobuf", "text"],
)
def test_an_absent_or_unreadable_signature_fails(export, public_key, export_sig):
    assert_export_fails(rezip(entries(export) | {"export.sig": export_sig}), public_key)


def test_too_many_signatures_fail(export, private_key, public_key):
    files = entries(export)
    one = pb.TEKSignatureList.FromString(files["export.sig"]).signatures[0]
    sixteen, seventeen = (pb.TEKSignatureList(signatures=[one] * n).SerializeToString() for n in (16, 17))
    assert read_export(rezip(files | {"export.sig": sixteen}), public_key)
    assert_export_fails(rezip(files | {"export.sig": seventeen}), public_key)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: {"export.bin": f["export.bin"]},
        lambda f: {"export.sig": f["export.sig"]},
        lambda f: f | {"README": b"hello"},
        lambda f: {"export.bin": f["export.bin"], "export.sig": f["export.sig"], "export.sig ": f["export.sig"]},
        lambda f: {"dir/export.bin": f["export.bin"], "export.sig": f["export.sig"]},
        lambda f: {},
    ],
    ids=["missing-sig", "missing-bin", "extra-entry", "extra-similar-name", "wrong-path", "empty-zip"],
)
def test_the_wrong_entries_fail(export, public_key, change):
    assert_export_fails(rezip(change(entries(export))), public_key)


def test_a_duplicated_entry_fails(export, public_key):
    files = entries(export)
    out = io.BytesIO()
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(out, "w") as archive:
        archive.writestr("export.bin", files["export.bin"])
        archive.writestr("export.sig", files["export.sig"])
        archive.writestr("export.sig", files["export.sig"])
    assert_export_fails(out.getvalue(), public_key)


@pytest.mark.parametrize(
    "data",
    [b"", b"PK", b"PK\x03\x04" + MARKER * 4, MARKER * 100, bytes(1000), random.Random(1).randbytes(5000)],
    ids=["empty", "magic", "local-header-only", "text", "zeros", "random"],
)
def test_garbage_fails(public_key, data):
    assert_export_fails(data, public_key)


def test_a_bad_header_fails_even_when_signed(export, private_key, public_key):
    files = entries(export)
    for header in (b"EK Export v2    ", b"EK Export v1", b""):
        export_bin = header + files["export.bin"][16:]
        sig = resigned_sig(export_bin, private_key)
        assert_export_fails(rezip({"export.bin": export_bin, "export.sig": sig}), public_key)


def test_a_signed_export_bin_that_does_not_parse_fails(private_key, public_key):
    export_bin = HEADER + b"\x0a\xff\xff" + MARKER
    sig = resigned_sig(export_bin, private_key)
    assert_export_fails(rezip({"export.bin": export_bin, "export.sig": sig}), public_key)


def test_a_signed_key_out_of_range_fails(private_key, public_key):
    message = pb.TemporaryExposureKeyExport(
        batch_num=2,
        batch_size=3,
        signature_infos=[pb_info()],
        keys=[pb.TemporaryExposureKey(key_data=bytes(15), rolling_period=144)],
    )
    export_bin = HEADER + message.SerializeToString()
    sig = resigned_sig(export_bin, private_key)
    assert_export_fails(rezip({"export.bin": export_bin, "export.sig": sig}), public_key)


def test_an_entry_declaring_more_than_max_bytes_is_refused(export, public_key):
    size = len(entries(export)["export.bin"])
    assert read_export(export, public_key, max_bytes=size)
    assert_export_fails(export, public_key, max_bytes=size - 1)


def test_a_zip_bomb_is_refused_though_validly_signed(private_key, public_key):
    # 16 MiB of one letter in the region deflate to a few KiB; without the size limit this
    # file would read successfully.
    message = pb.TemporaryExposureKeyExport(
        region="A" * 2**24,
        batch_num=2,
        batch_size=3,
        signature_infos=[pb_info()],
    )
    export_bin = HEADER + message.SerializeToString()
    bomb = rezip({"export.bin": export_bin, "export.sig": resigned_sig(export_bin, private_key)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 2**16
    assert read_export(bomb, public_key).region == "A" * 2**24
    assert_export_fails(bomb, public_key, max_bytes=2**20)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2])
def test_an_export_compressed_otherwise_reads(export, public_key, compression):
    assert read_export(rezip(entries(export), compression), public_key) == read_export(export, public_key)


# Arguments and keys


@pytest.mark.parametrize(
    "fields",
    [
        {"key_data": bytes(15)},
        {"key_data": bytes(17)},
        {"key_data": bytearray(16)},
        {"rolling_start_interval_number": -1},
        {"rolling_start_interval_number": 2**31},
        {"rolling_period": 0},
        {"rolling_period": 145},
        {"transmission_risk_level": -1},
        {"transmission_risk_level": 9},
        {"report_type": 6},
        {"report_type": -1},
        {"days_since_onset_of_symptoms": -15},
        {"days_since_onset_of_symptoms": 15},
    ],
)
def test_an_export_key_out_of_range_is_refused(fields):
    with pytest.raises(ValueError):
        make_key(random.Random(1), **fields)


@pytest.mark.parametrize(
    "window",
    [
        {"batch_num": 0, "batch_size": 1},
        {"batch_num": 2, "batch_size": 1},
        {"start": 2, "end": 1},
        {"start": -1, "end": 1},
        {"end": 2**64},
    ],
)
def test_build_refuses_an_impossible_window_or_batch(private_key, window):
    arguments = {**WINDOW, "batch_num": 1, "batch_size": 1} | window
    with pytest.raises(ValueError):
        build_export([], **arguments, private_key=private_key, info=INFO)


def test_build_and_read_refuse_keys_other_than_p256():
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(TypeError):
        build([], p384, batch_num=1, batch_size=1)
    with pytest.raises(TypeError):
        read_export(b"", p384.public_key())


def pem(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_the_signing_key_loads_from_pem(private_key, export):
    loaded = load_export_private_key(pem(private_key))
    assert loaded.private_numbers() == private_key.private_numbers()
    sec1 = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert load_export_private_key(sec1).private_numbers() == private_key.private_numbers()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert read_export(export, load_export_public_key(public_pem)).info == INFO


@pytest.mark.parametrize(
    "make_pem",
    [
        lambda: pem(ec.generate_private_key(ec.SECP384R1())),
        lambda: pem(ec.generate_private_key(ec.SECP256K1())),
        lambda: pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ),
        lambda: ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        lambda: b"-----BEGIN PRIVATE KEY-----\n" + MARKER + b"\n-----END PRIVATE KEY-----\n",
        lambda: MARKER,
    ],
    ids=["p384", "secp256k1", "rsa", "encrypted", "public-key", "bad-base64", "not-pem"],
)
def test_anything_but_a_p256_private_key_is_refused(make_pem):
    with pytest.raises(SigningKeyError) as info:
        load_export_private_key(make_pem())
    assert MARKER.decode() not in str(info.value)
    assert info.value.__cause__ is None


def test_anything_but_a_p256_public_key_is_refused(private_key):
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    for data in (
        p384.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        pem(private_key),
        MARKER,
    ):
        with pytest.raises(SigningKeyError):
            load_export_public_key(data)


def test_an_export_keys_repr_does_not_show_its_key_data():
    key = make_key(random.Random(1), key_data=b"K" * 16)
    assert "KKKK" not in repr(key) and (b"K" * 16).hex() not in repr(key)
