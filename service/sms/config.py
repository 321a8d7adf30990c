"""The deployment's SMS file: which keyword means which category, which number and postcode which area,
and what is sent back.

Residents text a keyword first, as RapidSMS taught SMS services to do: ``HULP 2800 ik slaap op straat``.
The keyword gives the report's category, a Belgian postcode anywhere in the text gives the area, and what
is left becomes the note (screened elsewhere). A text with no keyword is still counted, in the file's
catch-all category, so that a deployment sees how many people did not find the right word.

The file is TOML (the default is ``default_sms.toml`` beside this module; its comments are the reference
a deployment edits)::

    default_language = "nl"              # the language of a reading whose word says none
    catch_all = "sms_unclassified"       # the category of a text without a keyword
    catch_all_reply = "help"             # what the catch-all answers: "help" | "neutral" | "none"
    not_typos = ["GOOD"]                 # words never read as a keyword's typo (optional)

    [numbers]                            # municipal number (E.164) -> area when no known postcode is given
    "+3215000000" = "mechelen-binnenstad"

    [postcodes]                          # Belgian postcode -> area
    "2800" = "mechelen-binnenstad"

    [keywords.housing_need]              # one table per category: its reply kind and its words per language
    reply = "help"
    nl = ["WONEN"]
    fr = ["LOGEMENT"]
    reply_text = { nl = "...", fr = "..." }   # optional: this category's own reply instead of [replies.help]

    [replies.help]                       # the text of each reply kind, per language
    nl = "..."

Matching. A word is normalised by NFKD, dropping combining accents, casefolding and keeping only letters
and digits (of any script): ``Détresse!``, ``MASKER 19``, ``masker-19`` become ``detresse``, ``masker19``.
The keyword is looked for in the first one to three tokens (joined, so a keyword typed with a space is
found); tokens without a letter or digit at the start (emoji, a dash) and a postcode written first are
skipped. An exact match beats
any typo, and the longest exact join wins. Otherwise a typo is accepted at Damerau-Levenshtein distance
1 for keywords of 4 to 7 characters and 2 for 8 or more (shorter keywords match exactly only); the
closest keyword wins, and two categories at the same closest distance are ambiguous: the text goes to the
catch-all rather than to a guess. A token of digits only is never read as a typo, nor is a word of the
file's ``not_typos`` list (common words one edit away from a keyword: "GOOD morning" is not FOOD). ``load`` refuses a
file in which one category's keyword is itself within typo distance of another category's, so that
ambiguity can only come from a resident's typo, never from the file.

The same word may stand in two languages of one category (``VIOLENCE`` is French and English); a reading
then takes the language and spelling of its first occurrence in the file. Synonyms are separate words,
each its own keyword.

Privacy: neither a ``Reading`` nor an ``SmsFile`` shows the note or the numbers in its repr, and no
error message of this module quotes a number or a message body: a phone number must never reach a log.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import phonenumbers
from rapidfuzz.distance import DamerauLevenshtein

from .text import segments

__all__ = ["DEFAULT_SMS_FILE", "LANGUAGES", "REPLY_KINDS", "Reading", "SmsFile", "SmsFileError", "load",
           "load_default", "normalise"]

DEFAULT_SMS_FILE = "default_sms.toml"
LANGUAGES = ("nl", "fr", "de", "en")
REPLY_KINDS = ("help", "neutral", "none")

# How many leading tokens a keyword may be spread over ("MASKER 19" is two).
_MAX_JOIN = 3
# Tokens of the text: separated by blanks, and by the separators people put after a keyword ("HULP,2800").
_TOKEN = re.compile(r"[^\s,;:]+")
_SEPARATOR_AFTER = re.compile(r"[,;:]+")
_FOUR_DIGITS = re.compile(r"[0-9]{4}")
# A token that could be part of a phone number as people write one: "0478", "12.34.56", "+32", "(015)".
_PHONE_PIECE = re.compile(r"[+(]?[0-9][0-9./()-]*")
# Digits in a run of phone-like tokens from which the run is a phone number, not a postcode beside a count:
# a Belgian number has 9 digits nationally (0 + 8), so "0478 12 34 56" (10) is a number, "2800 12" is not.
_PHONE_DIGITS = 8
_POSTCODE_MIN, _POSTCODE_MAX = 1000, 9992


class SmsFileError(ValueError):
    """The SMS file is unreadable or inconsistent; the message names the key that is wrong."""


@dataclass(frozen=True)
class Reading:
    """What one text says: category, keyword, language, postcode, note, and the reply kind it gets."""

    category: str
    keyword: str | None
    language: str
    postcode: str | None
    # The resident's own words: never in a repr, so never in a log line or a traceback.
    note: str | None = field(repr=False)
    reply: str


@dataclass(frozen=True)
class _Keyword:
    """One word of the file: as written, normalised, and what it stands for."""

    word: str
    normalised: str
    category: str
    language: str


def normalise(word: str) -> str:
    """The form words are compared in: accents dropped, casefolded, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed.casefold() if c.isalnum() and not unicodedata.combining(c))


def _typo_distance(normalised: str) -> int:
    """How many edits a typo of this keyword may be away from it: 0 below 4 characters, 1 to 7, then 2."""
    if len(normalised) >= 8:
        return 2
    if len(normalised) >= 4:
        return 1
    return 0


def _is_postcode(token: str) -> bool:
    """A Belgian postcode written as a token of its own (surrounding punctuation allowed): 1000-9992."""
    digits = _strip_punctuation(token)
    return bool(_FOUR_DIGITS.fullmatch(digits)) and _POSTCODE_MIN <= int(digits) <= _POSTCODE_MAX


def _strip_punctuation(token: str) -> str:
    """The token without the punctuation around it ("(2800)." -> "2800"); symbols such as € are kept."""
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(token[end - 1]).startswith("P"):
        end -= 1
    return token[start:end]


@dataclass(frozen=True)
class SmsFile:
    """A validated SMS file; build it with `load`. `read` runs on every incoming text."""

    default_language: str
    catch_all: str
    # Municipal numbers are kept out of the repr like any phone number.
    numbers: Mapping[str, str] = field(repr=False)
    postcodes: Mapping[str, str]
    catch_all_reply: str = "help"
    keywords: tuple[_Keyword, ...] = field(default=(), repr=False)
    # Normalised words close to a keyword that are never read as its typo ("good" is not "food").
    not_typos: frozenset[str] = field(default=frozenset(), repr=False)
    category_replies: Mapping[str, str] = field(default_factory=dict, repr=False)
    replies: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    reply_texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # The exact table: one dict look-up per candidate; the first occurrence of a normalised word wins
        # (load() has already refused a word claimed by two categories).
        exact: dict[str, _Keyword] = {}
        for keyword in self.keywords:
            exact.setdefault(keyword.normalised, keyword)
        object.__setattr__(self, "_exact", MappingProxyType(exact))
        object.__setattr__(self, "_fuzzy", tuple(
            (kw, _typo_distance(kw.normalised)) for kw in exact.values() if _typo_distance(kw.normalised)))

    def read(self, text: str) -> Reading:
        """Category, keyword, language, postcode and note of one incoming text."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        postcode_index = self._postcode_index(tokens)
        keyword, used = self._match(tokens, postcode_index)
        removed = set(used)
        if postcode_index is not None:
            removed.add(postcode_index)
        note = _note(text, tokens, removed)
        postcode = _strip_punctuation(tokens[postcode_index][2]) if postcode_index is not None else None
        if keyword is None:
            return Reading(category=self.catch_all, keyword=None, language=self.default_language,
                           postcode=postcode, note=note, reply=self.catch_all_reply)
        return Reading(category=keyword.category, keyword=keyword.word, language=keyword.language,
                       postcode=postcode, note=note, reply=self.category_replies[keyword.category])

    def area(self, recipient: str, postcode: str | None) -> str | None:
        """The area of a text: its postcode's if the file knows it, else the number's it was sent to, else None."""
        if postcode is not None and postcode in self.postcodes:
            return self.postcodes[postcode]
        if recipient in self.numbers:
            return self.numbers[recipient]
        e164 = _as_e164(recipient)
        return self.numbers.get(e164) if e164 is not None else None

    def reply_text(self, reading: Reading) -> str | None:
        """The text to send back, in the reading's language; None when the reply kind is "none"."""
        if reading.reply == "none":
            return None
        own = self.reply_texts.get(reading.category) if reading.keyword is not None else None
        texts = own if own is not None else self.replies[reading.reply]
        return texts.get(reading.language, texts.get(self.default_language))

    def categories(self) -> set[str]:
        """Every category this file can give a report: the keywords' and the catch-all."""
        return {kw.category for kw in self.keywords} | {self.catch_all}

    # --- matching -------------------------------------------------------------------------------------

    def _postcode_index(self, tokens: list[tuple[int, int, str]]) -> int | None:
        """The index of the first token that is a postcode and not a piece of a phone number."""
        for i, (_, _, token) in enumerate(tokens):
            if _is_postcode(token) and not _in_phone_number(tokens, i):
                return i
        return None

    def _match(self, tokens: list[tuple[int, int, str]], postcode_index: int | None
               ) -> tuple[_Keyword | None, tuple[int, ...]]:
        """The keyword at the start of the text and the indexes of the tokens it took, or (None, ())."""
        first = 0
        # Skip what carries no letter or digit before the keyword (an emoji, a dash, quotes), and a
        # postcode written first ("2800 HULP"): neither can be a keyword.
        while first < len(tokens) and (not normalise(tokens[first][2]) or first == postcode_index):
            first += 1
        candidates: list[tuple[str, tuple[int, ...]]] = []
        joined = ""
        for i in range(first, min(first + _MAX_JOIN, len(tokens))):
            if i == postcode_index:
                break   # a keyword never swallows the postcode that follows it ("HULP 2800")
            joined += normalise(tokens[i][2])
            candidates.append((joined, tuple(range(first, i + 1))))
        # Exact: the longest join that is a keyword.
        for candidate, used in reversed(candidates):
            keyword = self._exact.get(candidate)
            if keyword is not None:
                return keyword, used
        return self._fuzzy_match(candidates)

    def _fuzzy_match(self, candidates: list[tuple[str, tuple[int, ...]]]
                     ) -> tuple[_Keyword | None, tuple[int, ...]]:
        """The closest keyword within its typo distance; None when none is, or two categories tie."""
        best: tuple[int, _Keyword, tuple[int, ...]] | None = None
        tied = False
        for candidate, used in candidates:
            if not candidate or candidate.isdigit() or candidate in self.not_typos:
                continue
            for keyword, allowed in self._fuzzy:
                if abs(len(candidate) - len(keyword.normalised)) > allowed:
                    continue
                distance = DamerauLevenshtein.distance(candidate, keyword.normalised, score_cutoff=allowed)
                if distance > allowed:
                    continue
                if best is None or distance < best[0]:
                    best, tied = (distance, keyword, used), False
                elif distance == best[0] and keyword.category != best[1].category:
                    tied = True
                # Same distance, same category: the first found (fewest tokens, file order) stays.
        if best is None or tied:
            return None, ()
        return best[1], best[2]


def _in_phone_number(tokens: list[tuple[int, int, str]], index: int) -> bool:
    """Whether the token belongs to a run of phone-like tokens with enough digits to be a phone number."""
    start = index
    while start > 0 and _PHONE_PIECE.fullmatch(tokens[start - 1][2]):
        start -= 1
    end = index
    while end + 1 < len(tokens) and _PHONE_PIECE.fullmatch(tokens[end + 1][2]):
        end += 1
    digits = sum(c.isdigit() for _, _, token in tokens[start:end + 1] for c in token)
    return digits >= _PHONE_DIGITS


def _note(text: str, tokens: list[tuple[int, int, str]], removed: set[int]) -> str | None:
    """The text without the removed tokens (and a separator right after one), blanks collapsed.

    The resident's characters are kept as they are (emoji, accents, any script); a remainder without a
    single letter or digit (only emoji or punctuation) is no note.
    """
    pieces: list[str] = []
    position = 0
    for i in sorted(removed):
        start, end, _ = tokens[i]
        pieces.append(text[position:start])
        separator = _SEPARATOR_AFTER.match(text, end)
        position = separator.end() if separator else end
        pieces.append(" ")
    pieces.append(text[position:])
    note = " ".join("".join(pieces).split())
    # A dash or colon left in front by the removed keyword ("HULP - ik ..."), a comma left at the end by
    # a removed postcode ("..., 2800").
    while note and unicodedata.category(note[0]).startswith("P"):
        note = note[1:].lstrip()
    note = note.rstrip(",;: ")
    if not any(c.isalnum() for c in note):
        return None
    return note


def _as_e164(number: str) -> str | None:
    """The number in E.164 if it reads as one (Belgian national form allowed), else None."""
    candidates = [number]
    digits = number.strip()
    if digits.isdigit() and not digits.startswith("0"):
        candidates.append("+" + digits)   # gateways that drop the plus
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, "BE")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


# --- loading -------------------------------------------------------------------------------------------

_TOP_KEYS = {"default_language", "catch_all", "catch_all_reply", "not_typos", "numbers", "postcodes", "keywords",
             "replies"}
_KEYWORD_KEYS = {"reply", "reply_text", *LANGUAGES}


def load_default(*, categories: Collection[str], areas: Collection[str], locate: Locate | None = None) -> SmsFile:
    """The demo deployment's file shipped with the package."""
    with resources.as_file(resources.files(__package__) / DEFAULT_SMS_FILE) as path:
        return load(path, categories=categories, areas=areas, locate=locate)


# The deployment's area of a position (service.areas.AreaResolver.resolve), for places given as [lat, lon].
Locate = Callable[[float, float], "str | None"]


def load(path: str | Path, *, categories: Collection[str], areas: Collection[str], locate: Locate | None = None) -> SmsFile:
    """Read and validate an SMS file against the taxonomy's categories and the deployment's areas.

    Refused, each with a message naming the key: unknown keys, categories or areas, a language outside
    nl/fr/de/en, a keyword claimed by two categories or within typo distance of another category's, a
    number not in E.164, a postcode outside 1000-9992, an unknown reply kind, a reply missing a language
    the file can read a text in, and a reply that does not fit one SMS segment.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise SmsFileError(f"{path.name}: cannot be read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise SmsFileError(f"{path.name}: not valid TOML ({e})") from None
    return _Loader(path.name, categories, areas, locate).build(data)


class _Loader:
    """Validates the parsed file key by key; every failure names the key in `<file>: <key>: <what>`."""

    def __init__(self, name: str, categories: Collection[str], areas: Collection[str], locate: Locate | None = None) -> None:
        self.name = name
        self.known_categories = set(categories)
        self.known_areas = set(areas)
        self.locate = locate

    def fail(self, key: str, what: str) -> SmsFileError:
        return SmsFileError(f"{self.name}: {key}: {what}")

    def build(self, data: dict[str, Any]) -> SmsFile:
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise self.fail(unknown[0], f"unknown key (expected one of {', '.join(sorted(_TOP_KEYS))})")
        default_language = self.language("default_language", data.get("default_language"))
        catch_all = self.category("catch_all", data.get("catch_all"))
        catch_all_reply = self.reply_kind("catch_all_reply", data.get("catch_all_reply", "help"))
        numbers = self.numbers(self.table("numbers", data.get("numbers", {})))
        postcodes = self.postcodes(self.table("postcodes", data.get("postcodes", {})))
        keywords, category_replies, reply_texts = self.keywords(self.table("keywords", data.get("keywords")))
        if catch_all in category_replies:
            raise self.fail("catch_all", f"{catch_all!r} is also a keyword's category; the catch-all counts "
                                         "texts without a keyword and needs a category of its own")
        if not keywords:
            raise self.fail("keywords", "no keyword at all")
        not_typos = self.not_typos(data.get("not_typos", []), keywords)
        languages = {default_language} | {kw.language for kw in keywords}
        used_kinds = {catch_all_reply, *category_replies.values()} - {"none"}
        replies = self.replies(self.table("replies", data.get("replies", {})), used_kinds, languages)
        for category, texts in reply_texts.items():
            self.reply_languages(f"keywords.{category}.reply_text", texts, languages)
        return SmsFile(
            default_language=default_language,
            catch_all=catch_all,
            numbers=MappingProxyType(numbers),
            postcodes=MappingProxyType(postcodes),
            catch_all_reply=catch_all_reply,
            keywords=tuple(keywords),
            not_typos=not_typos,
            category_replies=MappingProxyType(category_replies),
            replies=MappingProxyType({k: MappingProxyType(v) for k, v in replies.items()}),
            reply_texts=MappingProxyType({k: MappingProxyType(v) for k, v in reply_texts.items()}),
        )

    # --- scalars and tables

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if value is None:
            raise self.fail(key, "missing")
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def text(self, key: str, value: Any) -> str:
        if value is None:
            raise self.fail(key, "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def language(self, key: str, value: Any) -> str:
        value = self.text(key, value)
        if value not in LANGUAGES:
            raise self.fail(key, f"unknown language {value!r} (expected one of {', '.join(LANGUAGES)})")
        return value

    def category(self, key: str, value: Any) -> str:
        value = self.text(key, value)
        if value not in self.known_categories:
            raise self.fail(key, f"unknown category {value!r} (not in the taxonomy's SMS categories)")
        return value

    def area(self, key: str, value: Any) -> str:
        """An area code, or a place [lat, lon] given to the deployment's areas (polygons or H3 cells
        alike: a file written with places works in either mode)."""
        if isinstance(value, list):
            if (len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                    or self.locate is None):
                raise self.fail(key, "a place is [latitude, longitude] in degrees")
            try:
                found = self.locate(float(value[0]), float(value[1]))
            except ValueError:
                found = None
            if found is None:
                raise self.fail(key, "the place lies outside the deployment's territory")
            return found
        value = self.text(key, value)
        if value not in self.known_areas:
            raise self.fail(key, f"unknown area {value!r}")
        return value

    def reply_kind(self, key: str, value: Any) -> str:
        value = self.text(key, value)
        if value not in REPLY_KINDS:
            raise self.fail(key, f"unknown reply kind {value!r} (expected one of {', '.join(REPLY_KINDS)})")
        return value

    # --- sections

    def numbers(self, table: dict[str, Any]) -> dict[str, str]:
        numbers: dict[str, str] = {}
        # Entries are named by position, never by the number itself: no phone number in an error message.
        for position, (number, area) in enumerate(table.items(), start=1):
            key = f"numbers (entry {position})"
            if _as_e164(number) != number or not number.startswith("+"):
                raise self.fail(key, "not a valid phone number in E.164 form (+ country code, digits only)")
            numbers[number] = self.area(key, area)
        return numbers

    def postcodes(self, table: dict[str, Any]) -> dict[str, str]:
        postcodes: dict[str, str] = {}
        for position, (postcode, area) in enumerate(table.items(), start=1):
            if not (_FOUR_DIGITS.fullmatch(postcode) and _POSTCODE_MIN <= int(postcode) <= _POSTCODE_MAX):
                # By position: what stands there may be a phone number typed in the wrong table.
                raise self.fail(f"postcodes (entry {position})", "not a Belgian postcode (4 digits, 1000-9992)")
            key = f"postcodes.{postcode}"
            postcodes[postcode] = self.area(key, area)
        return postcodes

    def keywords(self, table: dict[str, Any]
                 ) -> tuple[list[_Keyword], dict[str, str], dict[str, dict[str, str]]]:
        keywords: list[_Keyword] = []
        category_replies: dict[str, str] = {}
        reply_texts: dict[str, dict[str, str]] = {}
        owner: dict[str, _Keyword] = {}
        for category, entry in table.items():
            base = f"keywords.{category}"
            self.category(base, category)
            entry = self.table(base, entry)
            unknown = sorted(set(entry) - _KEYWORD_KEYS)
            if unknown:
                raise self.fail(f"{base}.{unknown[0]}", "unknown key (expected reply, reply_text or a language: "
                                                        f"{', '.join(LANGUAGES)})")
            reply = self.reply_kind(f"{base}.reply", entry.get("reply"))
            category_replies[category] = reply
            if "reply_text" in entry:
                if reply == "none":
                    raise self.fail(f"{base}.reply_text", 'given, but the reply kind is "none" (nothing is sent)')
                reply_texts[category] = self.reply_table(f"{base}.reply_text", entry["reply_text"])
            found = False
            for language in (key for key in entry if key in LANGUAGES):
                words = entry[language]
                if not isinstance(words, list) or not words:
                    raise self.fail(f"{base}.{language}", "must be a non-empty list of words")
                for position, word in enumerate(words):
                    key = f"{base}.{language}[{position}]"
                    word = self.text(key, word)
                    normalised = normalise(word)
                    if not any(c.isalpha() for c in normalised):
                        raise self.fail(key, f"{word!r} has no letter (digits alone would be read as a postcode)")
                    keyword = _Keyword(word=word.strip(), normalised=normalised, category=category,
                                       language=language)
                    other = owner.get(normalised)
                    if other is not None and other.category != category:
                        raise self.fail(key, f"{word!r} is already a keyword of {other.category!r}")
                    owner.setdefault(normalised, keyword)
                    keywords.append(keyword)
                    found = True
            if not found:
                raise self.fail(base, "no words (give at least one language: nl = [...])")
        self.check_typo_distance(owner)
        return keywords, category_replies, reply_texts

    def check_typo_distance(self, owner: dict[str, _Keyword]) -> None:
        """Refuse two categories' keywords so close that one could be read as a typo of the other."""
        entries = list(owner.values())
        for i, a in enumerate(entries):
            for b in entries[i + 1:]:
                if a.category == b.category:
                    continue
                allowed = max(_typo_distance(a.normalised), _typo_distance(b.normalised))
                if allowed and DamerauLevenshtein.distance(a.normalised, b.normalised) <= allowed:
                    raise self.fail(
                        f"keywords.{b.category}.{b.language}",
                        f"{b.word!r} is within typo distance of {a.word!r} ({a.category}): a misspelt text could "
                        "not be told apart; choose words further apart")

    def not_typos(self, value: Any, keywords: list[_Keyword]) -> frozenset[str]:
        if not isinstance(value, list):
            raise self.fail("not_typos", "must be a list of words")
        exact = {kw.normalised: kw for kw in keywords}
        words: set[str] = set()
        for position, word in enumerate(value):
            key = f"not_typos[{position}]"
            normalised = normalise(self.text(key, word))
            if normalised in exact:
                raise self.fail(key, f"{word!r} is a keyword of {exact[normalised].category!r}")
            words.add(normalised)
        return frozenset(words)

    def reply_table(self, key: str, value: Any) -> dict[str, str]:
        table = self.table(key, value)
        texts: dict[str, str] = {}
        for language, text in table.items():
            self.language(f"{key}.{language}", language)
            text = self.text(f"{key}.{language}", text)
            if segments(text) != 1:
                raise self.fail(f"{key}.{language}", f"does not fit one SMS ({segments(text)} segments; at most 160 "
                                                     "GSM-7 characters, or 70 with any character outside GSM-7)")
            texts[language] = text
        return texts

    def reply_languages(self, key: str, texts: dict[str, str], languages: set[str]) -> None:
        missing = sorted(languages - set(texts))
        if missing:
            raise self.fail(key, f"missing language(s) {', '.join(missing)} (the file reads texts in these)")

    def replies(self, table: dict[str, Any], used_kinds: set[str], languages: set[str]
                ) -> dict[str, dict[str, str]]:
        replies: dict[str, dict[str, str]] = {}
        for kind, texts in table.items():
            if kind not in REPLY_KINDS or kind == "none":
                raise self.fail(f"replies.{kind}", "unknown reply kind (expected help or neutral; "
                                                   '"none" sends nothing and has no text)')
            replies[kind] = self.reply_table(f"replies.{kind}", texts)
            self.reply_languages(f"replies.{kind}", replies[kind], languages)
        for kind in sorted(used_kinds - set(replies)):
            raise self.fail(f"replies.{kind}", "missing (a keyword or the catch-all replies with it)")
        return replies
