"""Find and redact personal data in the short free-text note of a report.

A note (at most 500 characters, Dutch, French or English) is screened before it is stored. Each
finding is replaced by a placeholder naming its kind ("[email]", "[phone]", ...). Whether a deployment
stores the redacted text or rejects the note is the caller's choice: `ScreenResult.kinds` lets a
rejection name what was found without ever echoing the value.

Regular expressions only find candidates; the check digits are left to the libraries that keep them
(python-stdnum for national numbers and IBANs, phonenumbers for phone numbers), so a number that merely
looks like one of these is kept.

Detectors run in a fixed order on a working copy of the text. Each finding is masked out of that copy
(same length, so offsets keep pointing into the original) before the next detector runs, so a later,
looser detector can never claim part of an earlier finding and nothing is counted twice:

1. e-mail addresses, which may contain digits that look like a phone number;
2. IBANs, whose digit run may contain something that passes as a national number;
3. national numbers (and BIS numbers), before phone numbers: some are also dialable numbers;
4. licence plates;
5. phone numbers, last, as the most permissive matcher.

Decisions a reviewer should know about:

- An 11-digit number whose check digits fail is not a national number. It is still redacted if it is a
  valid phone number (``32470123456`` reads as +32 470 12 34 56); otherwise it is kept, as file and
  case numbers of that length are common and carry no personal data.
- BIS numbers (the national number of people not in the national register: month + 20 or + 40) are
  personal data of the same kind and are reported as ``national_number``.
- IBANs are validated by their mod-97 checksum and the country's length and structure, not by the
  country-specific rules: python-stdnum's Belgian check also requires the bank code to be in its bank
  list, and a stale list must not let an account number through.
- Phone numbers must be *valid* for their region (``Leniency.VALID``), which is what keeps dates,
  times, amounts and postcodes out. Every valid number is redacted, including service numbers such as
  070 or 0800 lines: a note cannot tell a helpline from a private line reliably enough to keep one.
- Licence plates: the current format (1-ABC-234) is accepted in upper or lower case with hyphens or
  no separator, and with spaces only in upper case, so "1 box 100" stays. The older formats (ABC-123,
  123-ABC) are accepted only in upper case, with a hyphen or no separator, and never when the letters
  are a currency code: "EUR 100", "100 mcg" and "500EUR" stay.
- E-mail addresses are recognised by shape only; obfuscated forms ("jan at example dot be") are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers
from stdnum import iban
from stdnum.be import bis, nn


class PersonalDataKind(StrEnum):
    """A kind of personal data the screening recognises."""

    EMAIL = "email"
    PHONE = "phone"
    NATIONAL_NUMBER = "national_number"
    IBAN = "iban"
    LICENCE_PLATE = "licence_plate"


@dataclass(frozen=True)
class ScreenResult:
    """The redacted text, the number of findings, the distinct kinds found (sorted), and the kind
    of each finding in the order of the text (so a page can say "2 phone numbers were removed"
    without showing the note)."""

    text: str
    redactions: int
    kinds: tuple[PersonalDataKind, ...]
    # Detail of `kinds` and `redactions`, left out of equality (a result is its text and totals).
    found: tuple[PersonalDataKind, ...] = field(default=(), compare=False)


# Nothing below can match a text without a digit or an '@'; most notes take this exit.
_TRIGGER = re.compile(r"[\d@]")

# Replaces a finding in the working copy. Not a digit, letter, word character, space or any of the
# punctuation phonenumbers accepts inside a number, so no later detector can match through it or be
# joined across it.
_MASK = "\x00"

_EMAIL = re.compile(r"[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,}")

# Country code, check digits, then 11 to 30 letters or digits, optionally in space-separated groups.
# The candidate is greedy; _iban_spans trims it back to the longest prefix with a valid checksum.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}")
_IBAN_MIN_LENGTH = 15  # Norway; the longest (34) is bounded by the pattern itself.

# YYMMDD, counter, check digits: 85.07.30-033.28, 85073003328, 850730 033 28 and mixtures.
_NATIONAL_NUMBER = re.compile(
    r"(?<![\d+])\d{2}[\s.-]?\d{2}[\s.-]?\d{2}[\s.-]?\d{3}[\s.-]?\d{2}(?!\d)"
)

_PLATE_EDGE_BEFORE = r"(?<![\w-])"
_PLATE_EDGE_AFTER = r"(?![\w-])"
# Since 2010: a digit, three letters, three digits.
_PLATE_CURRENT = re.compile(
    _PLATE_EDGE_BEFORE + r"[1-9](?P<sep>[- ]?)(?P<letters>[A-Za-z]{3})(?P=sep)\d{3}" + _PLATE_EDGE_AFTER
)
# 1973-2010 (ABC-123) and before (123-ABC).
_PLATE_OLD = re.compile(
    _PLATE_EDGE_BEFORE
    + r"(?:(?P<letters>[A-Z]{3})-?\d{3}|\d{3}-?(?P<letters_after>[A-Z]{3}))"
    + _PLATE_EDGE_AFTER
)
_CURRENCY_CODES = frozenset({"EUR", "USD", "GBP", "CHF"})


def screen(text: str) -> ScreenResult:
    """Replace each piece of personal data in text by a placeholder naming its kind."""
    if not _TRIGGER.search(text):
        return ScreenResult(text=text, redactions=0, kinds=())

    findings: list[tuple[int, int, PersonalDataKind]] = []
    working = text
    for kind, find in _DETECTORS:
        for start, end in list(find(working)):
            findings.append((start, end, kind))
            working = working[:start] + _MASK * (end - start) + working[end:]

    findings.sort()
    pieces = []
    position = 0
    for start, end, kind in findings:
        pieces.append(text[position:start])
        pieces.append(f"[{kind}]")
        position = end
    pieces.append(text[position:])
    return ScreenResult(
        text="".join(pieces),
        redactions=len(findings),
        kinds=tuple(sorted({kind for _, _, kind in findings})),
        found=tuple(kind for _, _, kind in findings),
    )


def _email_spans(text: str) -> Iterator[tuple[int, int]]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.span()


def _iban_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # Try the longest prefix first. A prefix may only end where a word ends, so "BE68 5390 0754
        # 7034 en" shrinks to the IBAN but "BE685390075470345" does not lose its last digit.
        for length in range(len(candidate), _IBAN_MIN_LENGTH - 1, -1):
            end = match.start() + length
            if end < len(text) and text[end].isalnum():
                continue
            if iban.is_valid(candidate[:length], check_country=False):
                yield match.start(), end
                break


def _national_number_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _NATIONAL_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if nn.is_valid(digits) or bis.is_valid(digits):
            yield match.span()


def _current_plate_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _PLATE_CURRENT.finditer(text):
        if match["sep"] == " " and not match["letters"].isupper():
            continue
        yield match.span()


def _old_plate_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _PLATE_OLD.finditer(text):
        if (match["letters"] or match["letters_after"]) in _CURRENCY_CODES:
            continue
        yield match.span()


def _phone_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in phonenumbers.PhoneNumberMatcher(text, "BE", leniency=phonenumbers.Leniency.VALID):
        yield match.start, match.end


_DETECTORS: tuple[tuple[PersonalDataKind, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    (PersonalDataKind.EMAIL, _email_spans),
    (PersonalDataKind.IBAN, _iban_spans),
    (PersonalDataKind.NATIONAL_NUMBER, _national_number_spans),
    (PersonalDataKind.LICENCE_PLATE, _current_plate_spans),
    (PersonalDataKind.LICENCE_PLATE, _old_plate_spans),
    (PersonalDataKind.PHONE, _phone_spans),
)
