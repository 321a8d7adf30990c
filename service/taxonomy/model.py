"""The taxonomy as the rest of the service sees it: immutable, validated, with its download form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.reports.registry import CHANNELS as REPORT_CHANNELS

# The four phenomena of the Belgian strategic security and prevention plans
# (strategische veiligheids- en preventieplannen / plans strategiques de sécurité et de prévention).
# They are fixed by federal policy, not by a deployment: a taxonomy file may use a subset, never
# invent one, so figures stay comparable between municipalities.
PHENOMENA = ("victimisation", "nuisance", "living_together", "inclusion")

# Where a report can come from: the registered report channels. A category lists the channels it
# may be reported on.
CHANNELS = frozenset(REPORT_CHANNELS)

# Every label has these languages; "de" (the German-speaking Community) is optional.
LANGUAGES = ("nl", "fr", "en")


class TaxonomyError(Exception):
    """The taxonomy file is missing, malformed or inconsistent; the message names the problem."""


@dataclass(frozen=True)
class Category:
    """One kind of signal a report can carry."""

    code: str
    phenomenon: str
    labels: Mapping[str, str]
    channels: frozenset[str]


@dataclass(frozen=True)
class Taxonomy:
    """A loaded taxonomy. Mappings keep the file's order, which is the order shown to users."""

    version: str
    phenomena: Mapping[str, Mapping[str, str]]  # phenomenon code -> labels
    categories: Mapping[str, Category]  # category code -> category
    referral_kinds: Mapping[str, Mapping[str, str]]  # referral kind code -> labels
    document: bytes  # canonical JSON served to the apps, see loader.canonical_document
    etag: str  # strong ETag: the quoted hex SHA-256 of `document`

    def allows(self, code: str, channel: str) -> bool:
        """Whether category `code` exists and may be reported on `channel`."""
        category = self.categories.get(code)
        return category is not None and channel in category.channels
