"""Exposure Notification key export files (Google/Apple, "Exposure Key Export File Format and Verification" v1.5).

The server publishes diagnosed users' temporary exposure keys in files that phones download,
verify and match against what they heard. A file is a zip archive of exactly two entries:

    export.bin  b"EK Export v1    " (16 bytes, space padded)
                || TemporaryExposureKeyExport (protobuf): the time window, region, batch_num of
                   batch_size, the SignatureInfo of the signing key, and the keys
    export.sig  TEKSignatureList (protobuf): one TEKSignature per signing key, carrying that
                key's SignatureInfo, export.bin's batch_num and batch_size, and an ECDSA P-256 /
                SHA-256 signature over all of export.bin (header included), ASN.1 DER encoded

The schema is crypto/exposure_export.proto (the generated crypto/exposure_export_pb2.py is
committed; the .proto says how to regenerate it). Keys are written sorted by key_data, so the
order of a file says nothing about which keys arrived in the same upload. revised_keys (the
specification's way of revoking keys already published) are neither written nor returned here.

Build time is per key: the protobuf library adding one message (about 2 us with the upb
backend), the sort (about 1 us) and deflating (about 1 us); hashing and signing are noise.
A million keys build in 3 to 5 s on a 2-core machine (bench/exposure_export.py).
"""

from __future__ import annotations

import hashlib
import io
import operator
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from google.protobuf.message import DecodeError

from . import exposure_export_pb2 as pb
from .errors import ExportError, SigningKeyError

__all__ = [
    "HEADER",
    "MAX_BYTES",
    "SIGNATURE_ALGORITHM",
    "ExportError",
    "ExportFile",
    "ExportKey",
    "SignatureInfo",
    "build_export",
    "export_private_key",
    "load_export_private_key",
    "load_export_public_key",
    "read_export",
]

HEADER = b"EK Export v1    "
SIGNATURE_ALGORITHM = "1.2.840.10045.4.3.2"  # ASN.1 OID of ECDSA with SHA-256
MAX_BYTES = 64 * 2**20  # read_export's default limit per entry: about 2 million keys
BIN_NAME = "export.bin"
SIG_NAME = "export.sig"

# Phones accept a file signed by several keys (one TEKSignature each). Every candidate costs an
# ECDSA verification, so a file may not make a reader try more than a handful.
_MAX_SIGNATURES = 16
_REPORT_TYPES = frozenset(pb.TemporaryExposureKey.ReportType.values())
_INT32_MAX = 2**31 - 1
_by_key_data = operator.attrgetter("key_data")

# Everything zipfile raises on a damaged or hostile archive (bad CRC, truncation, unsupported
# compression or encryption, nonsense sizes), turned into one ExportError.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
)


@dataclass(frozen=True, slots=True)
class ExportKey:
    """One temporary exposure key as published; the constructor checks every field's range."""

    # 16 bytes; kept out of repr: until a file is published it identifies a diagnosed person's phone
    key_data: bytes = field(repr=False)
    rolling_start_interval_number: int  # ENIntervalNumber the key started being used
    rolling_period: int  # 1..144 ten-minute intervals
    transmission_risk_level: int  # 0..8
    report_type: int  # a ReportType value, e.g. 1 CONFIRMED_TEST
    days_since_onset_of_symptoms: int | None  # -14..14, None = not known (field absent)

    def __post_init__(self) -> None:
        if type(self.key_data) is not bytes or len(self.key_data) != 16:
            raise ValueError("key_data must be 16 bytes")
        if not 0 <= self.rolling_start_interval_number <= _INT32_MAX:
            raise ValueError("rolling_start_interval_number must be a non-negative int32")
        if not 1 <= self.rolling_period <= 144:
            raise ValueError("rolling_period must be 1..144")
        if not 0 <= self.transmission_risk_level <= 8:
            raise ValueError("transmission_risk_level must be 0..8")
        if self.report_type not in _REPORT_TYPES:
            raise ValueError("report_type must be a ReportType value")
        days = self.days_since_onset_of_symptoms
        if days is not None and not -14 <= days <= 14:
            raise ValueError("days_since_onset_of_symptoms must be -14..14 or None")


@dataclass(frozen=True)
class SignatureInfo:
    """Names the key that verifies a file, as registered with Google and Apple."""

    key_id: str  # verification_key_id: an MCC or an app-specific id, e.g. "BE"
    key_version: str  # verification_key_version, e.g. "v1"


@dataclass(frozen=True)
class ExportFile:
    """The verified contents of a key export file."""

    start: int  # start_timestamp, seconds since the epoch
    end: int  # end_timestamp
    region: str
    batch_num: int
    batch_size: int
    keys: list[ExportKey]
    info: SignatureInfo  # the signing key's info, as export.bin names it


def build_export(
    keys: Sequence[ExportKey],
    *,
    start: int,
    end: int,
    region: str,
    batch_num: int,
    batch_size: int,
    private_key: ec.EllipticCurvePrivateKey,
    info: SignatureInfo,
) -> bytes:
    """The zip bytes of a signed key export.

    Keys are written sorted by key_data (so the order reveals nothing about which keys came in
    the same upload). ValueError if a window or batch number is out of range.
    """
    _check_p256(private_key)
    if not 0 <= start <= end < 2**64:
        raise ValueError("start and end must be 0 <= start <= end < 2**64")
    if not 1 <= batch_num <= batch_size <= _INT32_MAX:
        raise ValueError("batch_num must be 1..batch_size")

    signature_info = pb.SignatureInfo(
        verification_key_version=info.key_version,
        verification_key_id=info.key_id,
        signature_algorithm=SIGNATURE_ALGORITHM,
    )
    export = pb.TemporaryExposureKeyExport(
        start_timestamp=start,
        end_timestamp=end,
        region=region,
        batch_num=batch_num,
        batch_size=batch_size,
        signature_infos=[signature_info],
    )
    # add() with keywords is the fastest way into a upb repeated field: building each
    # TemporaryExposureKey first and extend()ing with them takes twice as long.
    add = export.keys.add
    for key in sorted(keys, key=_by_key_data):
        add(
            key_data=key.key_data,
            transmission_risk_level=key.transmission_risk_level,
            rolling_start_interval_number=key.rolling_start_interval_number,
            rolling_period=key.rolling_period,
            report_type=key.report_type,
            days_since_onset_of_symptoms=key.days_since_onset_of_symptoms,  # None leaves it absent
        )
    export_bin = HEADER + export.SerializeToString()

    signature = private_key.sign(export_bin, ec.ECDSA(hashes.SHA256()))  # DER, as the format wants
    signatures = pb.TEKSignatureList(
        signatures=[
            pb.TEKSignature(
                signature_info=signature_info, batch_num=batch_num, batch_size=batch_size, signature=signature
            )
        ]
    )

    # Deflated at level 1: only key_data is random; the tags and small numbers around it make
    # up half of each key and compress well. For a million keys level 1 takes about 1 s and
    # saves 37% of every phone's download; level 6 saves 42% for 3 s, storing saves nothing.
    # ZipInfo's fixed 1980 timestamp keeps the archive from recording when it was built.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in ((BIN_NAME, export_bin), (SIG_NAME, signatures.SerializeToString())):
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()


def read_export(data: bytes, public_key: ec.EllipticCurvePublicKey, *, max_bytes: int = MAX_BYTES) -> ExportFile:
    """Open, verify and parse a key export; ExportError if anything about it is wrong.

    The archive must hold exactly export.bin and export.sig, each declaring at most max_bytes
    uncompressed (a zip bomb is refused before it is inflated). export.bin must start with the
    header, and one of export.sig's signatures must be an ECDSA P-256 / SHA-256 signature over
    it by public_key, carrying export.bin's batch_num and batch_size, and naming a key that
    export.bin lists. The signature is checked before export.bin is parsed.
    """
    _check_p256(public_key)
    export_bin, export_sig = _unzip(data, max_bytes)
    if export_bin[: len(HEADER)] != HEADER:
        raise ExportError("export.bin does not start with the key export header")

    try:
        signatures = pb.TEKSignatureList.FromString(export_sig).signatures
    except DecodeError:
        raise ExportError("export.sig is not a TEKSignatureList") from None
    if len(signatures) > _MAX_SIGNATURES:
        raise ExportError("export.sig holds too many signatures")
    digest = hashlib.sha256(export_bin).digest()  # once, however many signatures there are
    signed = next((s for s in signatures if _verifies(s, digest, public_key)), None)
    if signed is None:
        raise ExportError("no signature in export.sig verifies export.bin with this key")

    try:
        export = pb.TemporaryExposureKeyExport.FromString(export_bin[len(HEADER) :])
    except DecodeError:
        raise ExportError("export.bin is not a TemporaryExposureKeyExport") from None
    # export.sig is not itself signed: the batch it claims and the key it names must be the
    # ones export.bin (which is) states, or a signature could be moved to another file.
    if (signed.batch_num, signed.batch_size) != (export.batch_num, export.batch_size):
        raise ExportError("the signature's batch does not match export.bin's")
    info = SignatureInfo(
        key_id=signed.signature_info.verification_key_id, key_version=signed.signature_info.verification_key_version
    )
    if not any(_info_matches(i, info) for i in export.signature_infos):
        raise ExportError("export.bin does not list the key that signed it")

    try:
        keys = [
            ExportKey(
                key.key_data,
                key.rolling_start_interval_number,
                key.rolling_period,
                key.transmission_risk_level,
                key.report_type,
                key.days_since_onset_of_symptoms if key.HasField("days_since_onset_of_symptoms") else None,
            )
            for key in export.keys
        ]
    except ValueError:
        raise ExportError("export.bin holds a key with a field out of range") from None
    return ExportFile(
        start=export.start_timestamp,
        end=export.end_timestamp,
        region=export.region,
        batch_num=export.batch_num,
        batch_size=export.batch_size,
        keys=keys,
        info=info,
    )


def load_export_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 signing key in an unencrypted PEM (PKCS#8 or SEC1); SigningKeyError for anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError("the export signing key is not an unencrypted PEM private key") from None
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and _is_p256(key)):
        raise SigningKeyError("the export signing key must be an ECDSA P-256 key")
    return key


def export_private_key(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 signing key whose scalar comes from a 32-byte secret (a secret file of crypto.secrets).

    The scalar is 1 + (secret mod (n - 1)), always a valid private key; the bias this adds is
    below 2^-32. `load_export_private_key` takes a PEM key instead.
    """
    if len(secret) != 32:
        raise SigningKeyError("the export signing key secret must be 32 bytes")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's group order n
    return ec.derive_private_key(1 + int.from_bytes(secret, "big") % (order - 1), ec.SECP256R1())


def load_export_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    """The P-256 verification key in a PEM SubjectPublicKeyInfo; SigningKeyError for anything else."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError("the export verification key is not a PEM public key") from None
    if not (isinstance(key, ec.EllipticCurvePublicKey) and _is_p256(key)):
        raise SigningKeyError("the export verification key must be an ECDSA P-256 key")
    return key


def _is_p256(key: object) -> bool:
    return isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(
        key.curve, ec.SECP256R1
    )


def _check_p256(key: object) -> None:
    if not _is_p256(key):
        raise TypeError("key exports are signed with ECDSA P-256 keys only")


def _unzip(data: bytes, max_bytes: int) -> tuple[bytes, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if sorted(e.filename for e in entries) != [BIN_NAME, SIG_NAME]:
                raise ExportError("a key export holds exactly export.bin and export.sig")
            if any(e.file_size > max_bytes for e in entries):
                raise ExportError("a key export entry is larger than allowed")
            # zipfile stops at the declared size and checks the CRC, so nothing larger than
            # max_bytes is ever inflated into memory.
            return archive.read(BIN_NAME), archive.read(SIG_NAME)
    except _ZIP_ERRORS:
        raise ExportError("not a readable key export zip archive") from None


def _verifies(signature: pb.TEKSignature, digest: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    if signature.signature_info.signature_algorithm != SIGNATURE_ALGORITHM:
        return False
    try:
        public_key.verify(signature.signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def _info_matches(listed: pb.SignatureInfo, info: SignatureInfo) -> bool:
    return (
        listed.verification_key_id == info.key_id
        and listed.verification_key_version == info.key_version
        and listed.signature_algorithm == SIGNATURE_ALGORITHM
    )
