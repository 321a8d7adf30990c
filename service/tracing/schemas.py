"""Wire types of contact tracing: a code issued, a code exchanged, keys uploaded."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Padding = Annotated[str, Meta(max_length=8192, description="Random text of the app's choosing, so that every request has one size; ignored.")]


class IssueCodeIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the pharmacist enters after a positive test: exactly one of the two dates."""

    test_date: Annotated[dt.date | None, Meta(description="Day of the positive test (at most 14 days back).")] = None
    symptom_onset: Annotated[dt.date | None, Meta(description="Day symptoms began, if the person has any (at most 14 days back).")] = None


class IssuedCode(msgspec.Struct):
    """A one-time code to read out to the person who tested positive; shown once."""

    code: str  # twelve digits in three groups, the last a check digit
    expires_at: str
    onset_kind: str  # "test" or "symptoms"
    onset_date: str


class IssueCodeBySmsIn(msgspec.Struct, forbid_unknown_fields=True):
    """As IssueCodeIn, and the mobile number the code is texted to (used once, never stored) and the text's language."""

    phone: Annotated[str, Meta(max_length=32, description="The person's mobile number as typed: 0470 12 34 56, "
                                                          "+32 470 12 34 56 or 0032...; a Belgian number without a country code. "
                                                          "Used once to send the text; never stored or answered back.")]
    test_date: Annotated[dt.date | None, Meta(description="Day of the positive test (at most 14 days back).")] = None
    symptom_onset: Annotated[dt.date | None, Meta(description="Day symptoms began, if the person has any (at most 14 days back).")] = None
    language: Annotated[Literal["nl", "fr", "de", "en"], Meta(description="The language of the text.")] = "nl"


class IssuedCodeBySms(msgspec.Struct):
    """A code sent by SMS: when it expires and how the text fared, never the code (nobody at the counter needs it)."""

    expires_at: str
    onset_kind: str  # "test" or "symptoms"
    onset_date: str
    # sent: the provider took the text; queued: it is tried again within SAFESIGNAL_SMS_OUTBOX_HOURS;
    # failed: the provider refused it for good, so the code will not arrive: issue another.
    delivery: Literal["sent", "queued", "failed"]


class ExchangeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The code as the person typed it into the app."""

    code: Annotated[str, Meta(min_length=1, max_length=32, description="Twelve digits; spaces and dashes do not matter.")]
    padding: Padding = ""


class ExchangeOut(msgspec.Struct):
    """An upload token for one upload; every answer of this endpoint has the same size."""

    token: str
    expires_at: str
    padding: str


# The key file format's ReportType, as its number or its name (protobuf's JSON form).
ReportType = Annotated[int, Meta(ge=0, le=5)] | Literal[
    "UNKNOWN", "CONFIRMED_TEST", "CONFIRMED_CLINICAL_DIAGNOSIS", "SELF_REPORT", "RECURSIVE", "REVOKED"
]


class KeyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A temporary exposure key in the standard format."""

    key_data: Annotated[str, Meta(max_length=64, description="16 bytes, base64.")]
    rolling_start_interval_number: Annotated[int, Meta(ge=0, le=2**32 - 1, description="Start, in 10-minute intervals since the Unix epoch.")]
    rolling_period: Annotated[int, Meta(description="Validity in 10-minute intervals, 1 to 144.")] = 144
    transmission_risk_level: Annotated[int, Meta(description="0 to 8.")] = 0
    days_since_onset_of_symptoms: Annotated[
        int | None, Meta(description="Ignored: the server computes it from what the pharmacy entered, which the token carries.")
    ] = None
    report_type: Annotated[
        ReportType | None,
        Meta(description="Ignored (GAEN v1.5 apps send it): the server sets CONFIRMED_TEST, as the token comes from a positive test."),
    ] = None


class UploadIn(msgspec.Struct, forbid_unknown_fields=True):
    """Keys of the last 14 days and today, with the upload token from a code exchange."""

    token: Annotated[str, Meta(max_length=2048)]
    keys: Annotated[list[KeyIn], Meta(min_length=1, max_length=30)]
    padding: Padding = ""


class UploadOut(msgspec.Struct):
    """What was accepted; every answer of this endpoint has the same size."""

    inserted: int  # keys stored
    held_back: int  # of which still valid: published two hours after they expire
    dropped: int  # further than 14 days from onset: not stored
    padding: str


SCHEMAS = (IssueCodeIn, IssuedCode, IssueCodeBySmsIn, IssuedCodeBySms, ExchangeIn, ExchangeOut, KeyIn, UploadIn, UploadOut)
