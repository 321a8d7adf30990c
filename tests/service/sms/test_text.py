"""SMS encoding and segment counting (3GPP TS 23.038): the boundaries a deployment pays for."""

from __future__ import annotations

import pytest

from service.sms.text import encoding, segments

# The whole GSM 03.38 basic table (0x1B, the escape, is not a character) and the extension table.
BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = "\f^{}\\[~]|€"


def test_the_tables_have_the_sizes_of_the_standard():
    assert len(set(BASIC)) == 127
    assert len(set(EXTENSION)) == 10


def test_every_basic_and_extension_character_is_gsm7():
    assert encoding(BASIC) == "GSM-7"
    assert encoding(EXTENSION) == "GSM-7"
    for c in BASIC + EXTENSION:
        assert encoding(c) == "GSM-7", repr(c)


@pytest.mark.parametrize("c", ["ç", "ê", "ë", "ï", "ô", "â", "û", "Œ", "`", "’", "“", "…", "\t", "😀", "я"])
def test_characters_outside_the_alphabet_make_the_text_ucs2(c):
    assert encoding("Bien re" + c) == "UCS-2"


def test_dollar_is_basic_but_currency_sign_is_not_the_dollar():
    # 0x02 is "$" and 0x24 is "¤": both in; a lookalike (fullwidth dollar) is not.
    assert encoding("$¤") == "GSM-7"
    assert encoding("＄") == "UCS-2"


def test_empty_text_is_one_gsm7_segment():
    assert encoding("") == "GSM-7"
    assert segments("") == 1


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm7_single_160_and_153_per_part(length, expected):
    assert segments("a" * length) == expected


def test_extension_characters_count_two_septets():
    assert segments("€" * 80) == 1          # 160 septets
    assert segments("€" * 80 + "a") == 2    # 161
    assert segments("a" * 159 + "[") == 2   # 161: the escape pushes it over
    assert segments("a" * 158 + "[") == 1   # 160


def test_an_extension_character_is_not_cut_across_parts():
    # 152 septets then a 2-septet "€": it cannot straddle the 153rd septet, so it opens part 2;
    # 152 + 2 + 152 + 2 = 308 septets fill three parts, not two.
    assert segments("a" * 152 + "€" + "a" * 152 + "€") == 3
    # Laid out so each part takes exactly 153, two parts suffice.
    assert segments("a" * 151 + "€" + "a" * 151 + "€") == 2


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_single_70_and_67_per_part(length, expected):
    assert segments("ç" * length) == expected


def test_one_ucs2_character_makes_the_whole_text_count_in_ucs2():
    assert segments("a" * 70) == 1
    assert segments("a" * 69 + "ç") == 1
    assert segments("a" * 70 + "ç") == 2   # 71 code units, though 71 septets would fit in GSM-7


def test_emoji_count_two_code_units():
    assert segments("😀" * 35) == 1        # 70 code units
    assert segments("😀" * 35 + "a") == 2  # 71
    assert segments("a" * 69 + "😀") == 2  # 71


def test_a_surrogate_pair_is_not_cut_across_parts():
    # 66 units then an emoji: it would straddle the 67th unit, so it opens the next part.
    assert segments("a" * 66 + "😀" + "a" * 66 + "😀") == 3
    assert segments("a" * 65 + "😀" + "a" * 65 + "😀") == 2


def test_bmp_symbols_count_one_code_unit():
    assert segments("✓" * 70) == 1
    assert segments("✓" * 71) == 2
