"""What a report channel is: declared once, in one module per channel, registered in one line.

A channel says everything intake and retention need to know about where reports come from: its
name (the taxonomy's channel code, stored in the report's `channel` column), its wire types, its
retention data class, who counts as one reporter and how a report's area is found. The channels
are listed in service.reports.registry; the taxonomy's known channels, the report model's data
classes and the reports' holdings derive from that list, and the retention policy file must have
an entry for each data class (start-up refuses otherwise, service.holdings).

Intake (service.reports.services) takes typed reports: a channel's views, or a webhook that
builds reports from something other than JSON, decode first and hand over each report or the
field errors that refused it (`Undecodable`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from service.decoding import decode_raw, field_errors, text_errors
from service.reports.schemas import ClientId

if TYPE_CHECKING:
    from service.areas import AreaResolver


class ReportIn(Protocol):
    """What intake reads of a decoded report, whatever its channel's wire type."""

    category: str
    observed_at: dt.datetime
    count: int
    age_band: str | None
    sex: str | None
    referral: bool
    referral_kind: str | None
    note: str | None
    client_id: str | None


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A report its channel could not decode: its field errors, and its client id if well formed."""

    errors: dict[str, list[str]]
    client_id: str | None = None


# One item handed to intake: a report, or why it could not be read.
Decoded = ReportIn | Undecodable


@dataclass(frozen=True)
class Reporter:
    """Who submits: client ids are unique within `scope`; `ident` is what counts as one reporter
    (it is only ever stored as a keyed pseudonym); `area` is a registered area, if any."""

    scope: bytes
    ident: bytes
    area: str | None


class Principal(Protocol):
    """What a channel reads of an authenticated caller (service.partners.services.Principal)."""

    credential_id: uuid.UUID
    organisation_id: uuid.UUID
    area: str | None


Errors = dict[str, list[str]]
# How a channel finds a report's area: (the area or None, field errors). The area may be known
# even when the report is refused, so a replay of an earlier valid report gets its old answer.
Locate = Callable[[Any, Reporter, "AreaResolver"], tuple[str | None, Errors]]


@dataclass(frozen=True)
class ReportChannel:
    """One report channel, declared once (see the module docstring)."""

    name: str  # the taxonomy's channel code
    data_class: str  # the retention data class of its reports (an entry of the policy file)
    report: type[Any]  # msgspec type of one report on the wire
    batch: type[Any] | None  # msgspec type of a batch of raw reports, if the channel takes batches
    reporter: Callable[[Principal], Reporter]  # who counts as one reporter
    locate: Locate  # how a report's area is found

    def decode(self, raw: bytes) -> Decoded:
        """One raw JSON report of this channel, or the field errors that refuse it."""
        try:
            return decode_raw(raw, self.report)  # type: ignore[no-any-return]
        except msgspec.ValidationError as error:
            return Undecodable(field_errors(error), _client_id_of(raw))
        except msgspec.DecodeError:
            return Undecodable({"_schema": ["Not a JSON object."]})
        except UnicodeDecodeError:
            # A batch holds its reports as raw JSON whose strings are not checked yet: one report
            # with invalid UTF-8 is refused on its own, or a device would resend its queue forever.
            return Undecodable(text_errors(raw), _client_id_of(raw))

    def decode_each(self, raws: Sequence[bytes]) -> list[Decoded]:
        """Each raw report of a batch, decoded on its own."""
        decode = self.decode
        return [decode(raw) for raw in raws]


def registered_area(report: Any, reporter: Reporter, areas: AreaResolver) -> tuple[str | None, Errors]:
    """The reporter's registered area (a pharmacy's), whatever the report says."""
    if reporter.area is None:
        return None, {"_schema": ["This pharmacy has no registered area; ask the operator to set it."]}
    return reporter.area, {}


def _client_id_of(raw: bytes) -> str | None:
    """The client id of a report that failed validation, if it has a well-formed one, so an
    offline app can match the refusal to its queue."""
    try:
        return decode_raw(raw, _ClientIdOnly).client_id
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


class _ClientIdOnly(msgspec.Struct):
    client_id: ClientId | None = None
