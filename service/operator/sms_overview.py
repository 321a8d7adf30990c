"""What the operator's SMS page shows: the channel in force and what became of the last days' texts.

The deployment's keywords, numbers and postcodes live in its SMS file (SAFESIGNAL_SMS_FILE), not in
the database, so an operator cannot see them anywhere else; this module reads them from `state.sms`
as loaded at start, and the counts from `sms_count`. Read only, no Flask here: the view passes the
state's parts, a session and the day.

Never a secret: a provider appears by name with the two addresses its console needs, never with a
credential (the gateways hold those; nothing here reads them). The numbers shown are the
municipality's own public numbers, never a resident's: `sms_count` holds counts only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.sms.config import LANGUAGES
from service.sms.counts import OUTCOMES, counts

DAYS = 14  # how many UTC days of counts the page shows, today included


@dataclass(frozen=True)
class Provider:
    """A provider whose webhooks are open, and the two addresses to paste into its console."""

    name: str
    inbound_url: str
    status_url: str
    outbound: bool  # codes, notices and replies go out through it


@dataclass(frozen=True)
class Channel:
    """Whether the channel is on (an SMS file fits the deployment), and through which providers."""

    on: bool
    outbound: str | None
    providers: tuple[Provider, ...]


@dataclass(frozen=True)
class Place:
    """A municipal number or a postcode, and the area a text is counted in through it."""

    key: str
    area: str
    name: str | None  # the area's name, where the areas have names (polygons); None for an H3 cell


@dataclass(frozen=True)
class KeywordRow:
    """One category of the SMS file: its words per language and what it replies, per language."""

    category: str
    labels: Mapping[str, str]  # the taxonomy's labels; the page picks its language
    words: Mapping[str, tuple[str, ...]]  # language -> words as the file writes them (none: the catch-all)
    reply: str  # "help" | "neutral" | "none"
    texts: Mapping[str, str]  # language -> the reply sent; empty for "none"
    own_text: bool  # the category's own reply_text rather than the reply kind's
    catch_all: bool


@dataclass(frozen=True)
class Day:
    """One UTC day's counts per outcome, summed over providers (every outcome present, 0 if none)."""

    day: dt.date
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def channel(sms: Any) -> Channel:
    """The channel's state from `state.sms`: off when no SMS file fits, else its providers' addresses."""
    if sms.file is None:
        return Channel(on=False, outbound=None, providers=())
    base = sms.webhook_url
    providers = tuple(Provider(name, f"{base}/v1/sms/{name}/inbound", f"{base}/v1/sms/{name}/status",
                               outbound=name == sms.outbound)
                      for name in sorted(sms.gateways))
    return Channel(on=True, outbound=sms.outbound, providers=providers)


def places(mapping: Mapping[str, str], areas: Iterable[Any]) -> list[Place]:
    """Each entry of the file's [numbers] or [postcodes] with its area, named where areas have names.

    An H3 cell's name is its code: it is shown as a code, not as a name."""
    names = {area.code: area.name for area in areas if area.name and area.name != area.code}
    return [Place(key, area, names.get(area)) for key, area in mapping.items()]


def keywords(sms_file: Any, taxonomy: Any) -> list[KeywordRow]:
    """One row per category of the file, in the file's order, then the catch-all's."""
    words: dict[str, dict[str, list[str]]] = {}
    for keyword in sms_file.keywords:
        words.setdefault(keyword.category, {}).setdefault(keyword.language, []).append(keyword.word)
    rows = [_row(sms_file, taxonomy, category, reply, words.get(category, {}), catch_all=False)
            for category, reply in sms_file.category_replies.items()]
    rows.append(_row(sms_file, taxonomy, sms_file.catch_all, sms_file.catch_all_reply, {}, catch_all=True))
    return rows


def _row(sms_file: Any, taxonomy: Any, category: str, reply: str, words: Mapping[str, list[str]],
         catch_all: bool) -> KeywordRow:
    own = sms_file.reply_texts.get(category)
    texts: Mapping[str, str] = {} if reply == "none" else (own or sms_file.replies.get(reply, {}))
    known = taxonomy.categories.get(category)
    return KeywordRow(
        category=category,
        labels=dict(known.labels) if known is not None else {"en": category},
        words={language: tuple(words[language]) for language in LANGUAGES if language in words},
        reply=reply,
        texts={language: texts[language] for language in LANGUAGES if language in texts},
        own_text=own is not None,
        catch_all=catch_all,
    )


def daily_counts(session: Session, today: dt.date, days: int = DAYS) -> list[Day]:
    """The last `days` UTC days up to `today`, newest first, each outcome summed over providers."""
    since = today - dt.timedelta(days=days - 1)
    summed: dict[dt.date, dict[str, int]] = {}
    for (day, _provider, outcome), n in counts(session, since).items():
        if day > today or outcome not in OUTCOMES:
            continue
        by_outcome = summed.setdefault(day, {})
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    return [Day(day, {outcome: summed.get(day, {}).get(outcome, 0) for outcome in OUTCOMES})
            for day in (today - dt.timedelta(days=back) for back in range(days))]


def totals(days: Sequence[Day]) -> dict[str, int]:
    """Each outcome's sum over `days`."""
    return {outcome: sum(day.counts[outcome] for day in days) for outcome in OUTCOMES}
