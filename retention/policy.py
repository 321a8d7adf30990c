"""The retention policy file: what each data class is for, and how long it may be kept.

One TOML file (retention/default_policy.toml, or SAFESIGNAL_RETENTION_POLICY_FILE) is the only
source of both the retention schedule the jobs follow and the Art. 30 record the DPO reads, so
the two cannot disagree. Loading is strict: unknown keys, missing fields, an unknown action and a
period outside the file's bounds are refused, each in one line naming the data class and field.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec

from retention.errors import RetentionError

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")


class PolicyError(RetentionError):
    """The policy file cannot be used; the message is one line saying why."""


class Expiry(StrEnum):
    SHRED = "shred"
    DELETE = "delete"
    ANONYMISE = "anonymise"


NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


# What a deployment's file says until the controller fills it in; the record lists every field
# still starting with it under `to_complete`, so an unfinished record cannot pass for a finished one.
TO_COMPLETE = "TO BE COMPLETED BY THE CONTROLLER"


class Controller(msgspec.Struct, forbid_unknown_fields=True):
    """The controller's part of the Art. 30 record. The last three came later: a file without
    them still loads, and its record says they are to be completed."""

    name: NonEmpty
    contact: NonEmpty
    dpo_contact: NonEmpty
    transfers_to_third_countries: NonEmpty
    # Processors acting for the controller (Art. 28): hosting, backups, e-mail, support.
    processors: Annotated[list[NonEmpty], msgspec.Meta(min_length=1)] = msgspec.field(default_factory=lambda: [
        f"{TO_COMPLETE}: every processor (hosting of the service and of its key vault, backups, support): "
        "name, what it does, where the data is, and the data-processing agreement (Art. 28)"
    ])
    # The data-protection impact assessment (Art. 35) of this processing.
    dpia_reference: NonEmpty = f"{TO_COMPLETE}: reference and date of the data-protection impact assessment (Art. 35)"
    # How data subjects exercise their rights (Art. 12-22).
    data_subject_rights: NonEmpty = (
        f"{TO_COMPLETE}: where and how people exercise their rights (access, rectification, erasure, restriction, "
        "objection; Art. 12-22), and how the controller answers given that the service cannot identify them (Art. 11)"
    )


class Bounds(msgspec.Struct, forbid_unknown_fields=True):
    min_days: Annotated[int, msgspec.Meta(ge=0)]
    max_days: Annotated[int, msgspec.Meta(ge=1)]


class SecurityMeasures(msgspec.Struct, forbid_unknown_fields=True):
    measures: Annotated[list[NonEmpty], msgspec.Meta(min_length=1)]


class DataClassPolicy(msgspec.Struct, forbid_unknown_fields=True):
    description: NonEmpty
    purpose: NonEmpty
    legal_basis: NonEmpty
    data_subjects: list[NonEmpty]
    categories: Annotated[list[NonEmpty], msgspec.Meta(min_length=1)]
    recipients: list[NonEmpty]
    period_days: int
    on_expiry: Expiry

    @property
    def period(self) -> dt.timedelta:
        return dt.timedelta(days=self.period_days)


class PolicyFile(msgspec.Struct, forbid_unknown_fields=True):
    version: Annotated[int, msgspec.Meta(ge=1, le=1)]
    controller: Controller
    bounds: Bounds
    security_measures: SecurityMeasures
    data_classes: dict[str, DataClassPolicy]


class Policies:
    """A loaded, checked policy file."""

    def __init__(self, document: PolicyFile, source: str):
        self.document = document
        self.source = source

    def __getitem__(self, data_class: str) -> DataClassPolicy:
        return self.document.data_classes[data_class]

    def __contains__(self, data_class: object) -> bool:
        return data_class in self.document.data_classes

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.document.data_classes)

    def cutoff(self, data_class: str, now: dt.datetime) -> dt.datetime:
        """Records of the class older than this (strictly) are past their period."""
        return now - self[data_class].period


def load(path: str | Path | None = None) -> Policies:
    """Read and check a policy file (the shipped default when path is None)."""
    path = Path(path) if path else DEFAULT_POLICY_FILE
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PolicyError(f"cannot read the retention policy file {str(path)!r}: {error.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PolicyError(f"the retention policy file {str(path)!r} is not valid TOML: {error}") from None
    try:
        document = msgspec.convert(data, PolicyFile)
    except msgspec.ValidationError as error:
        raise PolicyError(f"the retention policy file {str(path)!r}: {error}") from None
    bounds = document.bounds
    if bounds.min_days > bounds.max_days:
        raise PolicyError("the retention policy's bounds: min_days is above max_days")
    for name, policy in document.data_classes.items():
        if not bounds.min_days <= policy.period_days <= bounds.max_days:
            raise PolicyError(
                f"retention policy of {name}: period_days {policy.period_days} lies outside the bounds "
                f"[{bounds.min_days}, {bounds.max_days}]"
            )
    return Policies(document, str(path))


def check_coverage(policies: Policies, stored: Iterable[str], actions: Mapping[str, frozenset[Expiry]]) -> None:
    """Fail closed: every stored data class has a policy, every policy a stored class, and each
    policy's action is one its data class supports (only encrypted classes can be shredded)."""
    stored = set(stored)
    missing = sorted(stored - set(policies))
    if missing:
        raise PolicyError(f"no retention policy for stored data class(es): {', '.join(missing)}")
    unknown = sorted(set(policies) - stored)
    if unknown:
        raise PolicyError(f"retention policy for data class(es) the service does not store: {', '.join(unknown)}")
    for name in sorted(stored):
        action = policies[name].on_expiry
        if name not in actions:
            raise PolicyError(f"data class {name} has no purge (retention/holdings.py)")
        if action not in actions[name]:
            allowed = ", ".join(sorted(actions[name]))
            raise PolicyError(f"retention policy of {name}: on_expiry {action.value!r} is not possible for it (use {allowed})")
