"""Tests for the personal-data screening of free-text notes.

Every national number and IBAN below is computed here from made-up digits, so no real person's data
sits in the repository; each helper checks its own result with python-stdnum before it is used.
"""

import phonenumbers
import pytest
from stdnum import iban
from stdnum.be import bis, nn

from service.screening import PersonalDataKind, ScreenResult, screen


def _check_digits(first_nine: str, *, born_after_1999: bool) -> str:
    # Since 2000 the check digits are computed over the nine digits prefixed with a '2'.
    base = int(("2" if born_after_1999 else "") + first_nine)
    return f"{97 - base % 97:02d}"


def _national_number(first_nine: str, *, born_after_1999: bool = False) -> str:
    number = first_nine + _check_digits(first_nine, born_after_1999=born_after_1999)
    assert nn.is_valid(number) or bis.is_valid(number)
    return number


def _with_wrong_check_digits(number: str) -> str:
    wrong = f"{(int(number[-2:]) + 1) % 100:02d}"
    wrong_number = number[:-2] + wrong
    assert not nn.is_valid(wrong_number) and not bis.is_valid(wrong_number)
    return wrong_number


def _nn_dotted(number: str) -> str:
    return f"{number[0:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:11]}"


def _iban(country: str, bban: str) -> str:
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    assert iban.is_valid(number, check_country=False)
    return number


def _belgian_bban(first_ten: str) -> str:
    # The Belgian account number carries its own mod-97 check in the last two digits.
    return first_ten + f"{int(first_ten) % 97 or 97:02d}"


def _grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).lower()


def _assert_gone(value: str, result: ScreenResult) -> None:
    assert _alnum(value) not in _alnum(result.text)


NN_1985 = _national_number("850730033")
NN_2005 = _national_number("050311224", born_after_1999=True)
BIS_1990 = _national_number("905212017")  # month 52: a BIS number, sex unknown at issue
IBAN_BE = _iban("BE", _belgian_bban("0011234567"))
IBAN_NL = _iban("NL", "INGB0001234567")
IBAN_DE = _iban("DE", "370400440532013000")
IBAN_FR = _iban("FR", "20041010050500013M02606")


def test_a_note_without_digits_or_at_sign_is_returned_unchanged():
    note = "Client asked about naloxone, referred to CAW. Cliënt vroeg naar naloxon, doorverwezen."
    assert screen(note) == ScreenResult(text=note, redactions=0, kinds=())


def test_empty_text():
    assert screen("") == ScreenResult(text="", redactions=0, kinds=())


def test_the_placeholder_replaces_exactly_the_finding():
    assert screen("Mail naar jan.peeters@example.be, aub.").text == "Mail naar [email], aub."


@pytest.mark.parametrize(
    ("sentence", "value"),
    [
        ("Mail naar jan.peeters@example.be voor opvolging.", "jan.peeters@example.be"),
        ("Son adresse: m.dupont+cpas@exemple-mail.fr, merci.", "m.dupont+cpas@exemple-mail.fr"),
        ("Contact him at SAM_42@Mail.Example.COM tomorrow", "SAM_42@Mail.Example.COM"),
        ("Mail: zoë.desmet@voorbeeld.be", "zoë.desmet@voorbeeld.be"),
    ],
)
def test_email_addresses_are_redacted(sentence, value):
    result = screen(sentence)
    assert result.redactions == 1
    assert result.kinds == (PersonalDataKind.EMAIL,)
    assert "[email]" in result.text
    _assert_gone(value, result)


@pytest.mark.parametrize(
    ("sentence", "value"),
    [
        ("Bel haar terug op 0470 12 34 56 na de middag.", "0470 12 34 56"),
        ("Appelez le +32 470 12 34 56 svp.", "+32 470 12 34 56"),
        ("Vaste lijn 02 512 34 56, enkel in de voormiddag.", "02 512 34 56"),
        ("Internationaal: 0032 470 12 34 56.", "0032 470 12 34 56"),
        ("GSM 0470/12.34.56 (moeder)", "0470/12.34.56"),
        ("Numéro +32 (0)470 12 34 56 laissé au comptoir.", "+32 (0)470 12 34 56"),
        ("He gave a French number, +33 6 12 34 56 78, for his sister.", "+33 6 12 34 56 78"),
        ("tel:0470123456.", "0470123456"),
    ],
)
def test_phone_numbers_are_redacted(sentence, value):
    result = screen(sentence)
    assert result.redactions == 1
    assert result.kinds == (PersonalDataKind.PHONE,)
    _assert_gone(value, result)


@pytest.mark.parametrize(
    "written",
    [
        _nn_dotted(NN_1985),
        NN_1985,
        f"{NN_1985[:6]} {NN_1985[6:9]} {NN_1985[9:]}",
        " ".join([NN_1985[0:2], NN_1985[2:4], NN_1985[4:6], NN_1985[6:9], NN_1985[9:]]),
        f"{NN_1985[:6]}-{NN_1985[6:9]}-{NN_1985[9:]}",
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        "Rijksregisternummer {} staat op de kaart.",
        "Il a donné son numéro national ({}) sans qu'on le demande.",
        "NN: {}",
    ],
)
def test_national_numbers_are_redacted_in_common_formats(written, template):
    result = screen(template.format(written))
    assert result.redactions == 1
    assert result.kinds == (PersonalDataKind.NATIONAL_NUMBER,)
    _assert_gone(NN_1985, result)


def test_national_number_of_someone_born_after_1999_uses_the_2_prefix_rule():
    # The same nine digits with check digits computed the pre-2000 way would be a different number.
    assert NN_2005[-2:] != _check_digits(NN_2005[:9], born_after_1999=False)
    result = screen(f"Jongere, rijksregister {_nn_dotted(NN_2005)}, kwam alleen.")
    assert result.kinds == (PersonalDataKind.NATIONAL_NUMBER,)
    _assert_gone(NN_2005, result)


def test_bis_number_is_redacted_as_a_national_number():
    assert bis.is_valid(BIS_1990) and not nn.is_valid(BIS_1990)
    result = screen(f"BIS-nummer {_nn_dotted(BIS_1990)}")
    assert result.kinds == (PersonalDataKind.NATIONAL_NUMBER,)
    _assert_gone(BIS_1990, result)


@pytest.mark.parametrize("number", [NN_1985, NN_2005])
def test_wrong_check_digits_are_not_a_national_number(number):
    wrong = _with_wrong_check_digits(number)
    for written in (wrong, _nn_dotted(wrong)):
        note = f"Dossier {written} afgesloten."
        assert screen(note) == ScreenResult(text=note, redactions=0, kinds=())


def test_eleven_digits_that_fail_the_check_but_dial_as_a_phone_number_are_a_phone():
    number = "32470123456"
    assert not nn.is_valid(number) and not bis.is_valid(number)
    result = screen(f"Nummer {number} op de achterkant.")
    assert result.kinds == (PersonalDataKind.PHONE,)
    _assert_gone(number, result)


def test_a_national_number_that_also_dials_is_counted_once_as_a_national_number():
    number = _national_number("324701001")  # BIS number; read with +32 it is a mobile number
    assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number))
    result = screen(f"Nummer {number}.")
    assert result == ScreenResult(
        text="Nummer [national_number].", redactions=1, kinds=(PersonalDataKind.NATIONAL_NUMBER,)
    )


def test_a_leading_plus_makes_eleven_digits_a_phone_number_not_a_national_number():
    number = _national_number("324701001")
    result = screen(f"Bel +{number}.")
    assert result == ScreenResult(text="Bel [phone].", redactions=1, kinds=(PersonalDataKind.PHONE,))


@pytest.mark.parametrize(
    "written",
    [
        _grouped(IBAN_BE),
        IBAN_BE,
        _grouped(IBAN_BE).lower(),
        _grouped(IBAN_NL),
        IBAN_DE,
        _grouped(IBAN_FR),
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        "Terugbetaling op {} gevraagd.",
        "Virement sur le compte {}, merci",
        "Account {}",
    ],
)
def test_ibans_are_redacted_with_or_without_spaces(written, template):
    result = screen(template.format(written))
    assert result.redactions == 1
    assert result.kinds == (PersonalDataKind.IBAN,)
    _assert_gone(written, result)


def test_an_iban_with_a_bank_code_unknown_to_stdnum_is_still_redacted():
    # Bank code 160 is not in python-stdnum's Belgian bank list; a stale list must not leak an account.
    unlisted = _iban("BE", _belgian_bban("1601234567"))
    assert not iban.is_valid(unlisted)
    result = screen(f"Rekening {_grouped(unlisted)}")
    assert result.kinds == (PersonalDataKind.IBAN,)
    _assert_gone(unlisted, result)


def test_an_iban_followed_by_capitalised_words_keeps_the_words():
    result = screen(f"Rekening {_grouped(IBAN_BE)} ABCD EF van de moeder")
    assert result.text == "Rekening [iban] ABCD EF van de moeder"


@pytest.mark.parametrize("valid", [IBAN_BE, IBAN_NL, IBAN_DE])
def test_wrong_iban_checksum_is_not_an_iban(valid):
    wrong = valid[:2] + f"{(int(valid[2:4]) + 1) % 100:02d}" + valid[4:]
    assert not iban.is_valid(wrong, check_country=False)
    note = f"Referentie {_grouped(wrong)} in het dossier."
    result = screen(note)
    assert PersonalDataKind.IBAN not in result.kinds
    assert _alnum(wrong) in _alnum(result.text)


def test_an_iban_with_a_trailing_extra_digit_is_not_cut_short():
    note = f"Code {IBAN_BE}7 genoteerd."
    assert PersonalDataKind.IBAN not in screen(note).kinds


@pytest.mark.parametrize(
    ("sentence", "value"),
    [
        ("Wagen met nummerplaat 1-ABC-234 stond weer aan de ingang.", "1-ABC-234"),
        ("Voiture immatriculée 2ABC345 devant la pharmacie.", "2ABC345"),
        ("Car with plate 1 XYZ 987 parked outside.", "1 XYZ 987"),
        ("plaat 1-xyz-987 genoteerd door de buurman", "1-xyz-987"),
        ("Oude plaat ABC-123, grijze Golf.", "ABC-123"),
        ("Ancienne plaque KLM456.", "KLM456"),
        ("Very old plate 123-ABC on a van.", "123-ABC"),
    ],
)
def test_licence_plates_are_redacted(sentence, value):
    result = screen(sentence)
    assert result.redactions == 1
    assert result.kinds == (PersonalDataKind.LICENCE_PLATE,)
    _assert_gone(value, result)


@pytest.mark.parametrize(
    "note",
    [
        "Langsgekomen op 12/03/2024 om 14:30.",
        "Passé le 12.03.2024 vers 16u30.",
        "Follow-up planned for 2024-03-12 at 09:15.",
        "Betaalde 25 euro voor 3 spuiten en 20 naalden.",
        "Montant: € 1.500,00, soit 1500 EUR.",
        "Paid 500EUR, then EUR 100 more.",
        "Woont in 2800 Mechelen, werkt in 9000 Gent.",
        "Domicile B-1000 Bruxelles.",
        "Gaf 1 box 100 naalden en 4 x 250 mg.",
        "Dosis 100 mcg, tweede keer deze week, 2 personen.",
        "Tussen 10 en 12 uur, COVID-19 maatregelen, 112 gebeld.",
        "Dossier 2024/1234, ref 123456.",
    ],
)
def test_ordinary_numbers_and_words_are_kept(note):
    assert screen(note) == ScreenResult(text=note, redactions=0, kinds=())


def test_several_findings_are_counted_exactly_and_kinds_are_sorted():
    note = (
        f"Bel 0470 12 34 56 of 02 512 34 56, mail jan@example.be, RRN {_nn_dotted(NN_1985)}, "
        f"rekening {_grouped(IBAN_BE)}, wagen 1-ABC-234."
    )
    result = screen(note)
    assert result.redactions == 6
    assert result.kinds == (
        PersonalDataKind.EMAIL,
        PersonalDataKind.IBAN,
        PersonalDataKind.LICENCE_PLATE,
        PersonalDataKind.NATIONAL_NUMBER,
        PersonalDataKind.PHONE,
    )
    assert result.text == (
        "Bel [phone] of [phone], mail [email], RRN [national_number], "
        "rekening [iban], wagen [licence_plate]."
    )
    # Each finding's kind, in the order of the text: what a page counts to say what was removed.
    assert result.found == (
        PersonalDataKind.PHONE,
        PersonalDataKind.PHONE,
        PersonalDataKind.EMAIL,
        PersonalDataKind.NATIONAL_NUMBER,
        PersonalDataKind.IBAN,
        PersonalDataKind.LICENCE_PLATE,
    )


def test_digits_of_a_phone_number_inside_an_email_address_count_once():
    result = screen("Mail jan.0470123456@example.be")
    assert result == ScreenResult(text="Mail [email]", redactions=1, kinds=(PersonalDataKind.EMAIL,))


def test_a_phone_number_right_after_a_national_number_is_still_found():
    result = screen(f"{NN_1985} 0470 12 34 56")
    assert result.text == "[national_number] [phone]"
    assert result.redactions == 2


def test_kinds_are_sorted_regardless_of_order_in_the_text():
    result = screen("Tel 0470 12 34 56, mail jan@example.be")
    assert result.kinds == (PersonalDataKind.EMAIL, PersonalDataKind.PHONE)


def test_unicode_text_around_a_finding_is_preserved():
    note = "Émile 🙂 zei: « bel 0470 12 34 56 » — café ’t Hoekske, 2800 Mechelen"
    result = screen(note)
    assert result.text == "Émile 🙂 zei: « bel [phone] » — café ’t Hoekske, 2800 Mechelen"
    assert result.redactions == 1


def test_full_width_digits_are_recognised_as_a_phone_number():
    result = screen("ｔｅｌ ０４７０ １２ ３４ ５６")
    assert result.kinds == (PersonalDataKind.PHONE,)
    assert "０４７０" not in result.text


def test_screening_the_redacted_text_again_finds_nothing():
    note = f"Mail jan@example.be, RRN {NN_1985}, IBAN {IBAN_BE}, tel 0470 12 34 56, plaat 1-ABC-234"
    first = screen(note)
    assert first.redactions == 5
    assert screen(first.text) == ScreenResult(text=first.text, redactions=0, kinds=())
