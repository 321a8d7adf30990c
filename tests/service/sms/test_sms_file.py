"""The deployment's SMS file: reading texts (keywords, typos, postcodes, notes), areas, replies, and load()'s refusals."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from service.areas import load_areas
from service.sms.config import Reading, SmsFile, SmsFileError, load, load_default
from service.sms.text import segments

PACKAGE = Path(resources.files("service.sms"))  # type: ignore[arg-type]
DEFAULT_TEXT = (PACKAGE / "default_sms.toml").read_text(encoding="utf-8")
NUMBER = "+3215000000"

# The categories the coordinator opens to the sms channel, and the demo deployment's areas.
SMS_CATEGORIES = {"sms_help_request", "sms_unclassified", "dv_mask19", "intrafamily_violence_other", "housing_need",
                  "food_insecurity", "mental_distress_acute", "loneliness", "discarded_needles"}
AREAS = {f["properties"]["code"] for f in json.loads(
    (Path(resources.files("service.areas")) / "demo_areas.geojson").read_text(encoding="utf-8"))["features"]}  # type: ignore[arg-type]


# The default file gives places [lat, lon]: with the demo's polygons, they fall in these areas.
POLYGONS = load_areas("polygons", None, 8)


@pytest.fixture(scope="module")
def sms() -> SmsFile:
    return load_default(categories=SMS_CATEGORIES, areas=AREAS, locate=POLYGONS.resolve)


def variant(tmp_path: Path, *edits: tuple[str, str], text: str = DEFAULT_TEXT) -> Path:
    """The default file with each (old, new) edit applied; an edit that finds nothing fails the test."""
    for old, new in edits:
        assert old in text, f"the default file no longer contains {old!r}"
        text = text.replace(old, new, 1)
    path = tmp_path / "sms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, *, categories=SMS_CATEGORIES, areas=AREAS, locate=POLYGONS.resolve) -> str:
    with pytest.raises(SmsFileError) as caught:
        load(path, categories=categories, areas=areas, locate=locate)
    return str(caught.value)


MINIMAL = """
default_language = "nl"
catch_all = "other"
[numbers]
[postcodes]
[replies.help]
nl = "Ontvangen."
"""


def small(tmp_path: Path, keywords: str, *, not_typos: str = "") -> SmsFile:
    """A file of a few nl keywords, for the matching rules the default file does not exercise."""
    path = tmp_path / "small.toml"
    path.write_text(not_typos + MINIMAL + keywords, encoding="utf-8")
    return load(path, categories={"a", "b", "other"}, areas=set())


# --- the shipped default ---------------------------------------------------------------------------------


def test_the_default_loads_with_the_demo_deployment(sms):
    assert sms.default_language == "nl"
    assert sms.catch_all == "sms_unclassified"
    assert dict(sms.numbers) == {NUMBER: "mechelen-binnenstad"}
    assert dict(sms.postcodes) == {"2800": "mechelen-binnenstad", "2801": "mechelen-battel",
                                   "2811": "mechelen-geerdegem", "2812": "mechelen-nekkerspoel"}


def test_the_default_maps_to_exactly_the_sms_categories(sms):
    assert sms.categories() == SMS_CATEGORIES


def test_the_default_is_refused_without_its_categories_and_areas():
    path = PACKAGE / "default_sms.toml"
    assert "sms_help_request" in refused(path, categories=SMS_CATEGORIES - {"sms_help_request"})
    assert "a place is [latitude, longitude]" in refused(path, locate=None)


KEYWORDS = [
    ("HULP", "sms_help_request", "nl"), ("AIDE", "sms_help_request", "fr"),
    ("HILFE", "sms_help_request", "de"), ("HELP", "sms_help_request", "en"),
    ("MASKER19", "dv_mask19", "nl"), ("MASQUE19", "dv_mask19", "fr"),
    ("MASKE19", "dv_mask19", "de"), ("MASK19", "dv_mask19", "en"),
    ("GEWELD", "intrafamily_violence_other", "nl"), ("VIOLENCE", "intrafamily_violence_other", "fr"),
    ("GEWALT", "intrafamily_violence_other", "de"),
    ("WONEN", "housing_need", "nl"), ("LOGEMENT", "housing_need", "fr"),
    ("WOHNEN", "housing_need", "de"), ("HOUSING", "housing_need", "en"),
    ("VOEDSEL", "food_insecurity", "nl"), ("NOURRITURE", "food_insecurity", "fr"),
    ("ESSEN", "food_insecurity", "de"), ("FOOD", "food_insecurity", "en"),
    ("CRISIS", "mental_distress_acute", "nl"), ("DÉTRESSE", "mental_distress_acute", "fr"),
    ("KRISE", "mental_distress_acute", "de"),
    ("EENZAAM", "loneliness", "nl"), ("SEUL", "loneliness", "fr"),
    ("EINSAM", "loneliness", "de"), ("LONELY", "loneliness", "en"),
    ("NAALD", "discarded_needles", "nl"), ("SPUIT", "discarded_needles", "nl"),
    ("SERINGUE", "discarded_needles", "fr"), ("SPRITZE", "discarded_needles", "de"),
    ("NEEDLE", "discarded_needles", "en"),
]


@pytest.mark.parametrize(("word", "category", "language"), KEYWORDS)
def test_every_default_keyword_gives_its_category_and_language(sms, word, category, language):
    for text in (word, word.lower(), f"{word.capitalize()} 2800 iets", f"  {word}!  "):
        reading = sms.read(text)
        assert (reading.category, reading.keyword, reading.language) == (category, word, language), text


def test_a_word_in_two_languages_of_one_category_takes_the_first(sms):
    # VIOLENCE is listed under fr, then en.
    assert (sms.read("violence").language, sms.read("VIOLENCE").keyword) == ("fr", "VIOLENCE")
    # CRISIS is nl and en.
    assert sms.read("crisis").language == "nl"


def test_the_default_reply_kinds(sms):
    assert sms.read("HULP").reply == "help"
    assert sms.read("MASKER19").reply == "none"
    assert sms.read("GEWELD").reply == "neutral"
    assert sms.read("NAALD").reply == "neutral"
    assert sms.read("hallo").reply == "help"


# --- tolerance -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["hulp", "Hulp", "HULP!", "*hulp*", "(HULP)", "hulp.", "HULP:", "'hulp'", "« HULP »",
                                  "\t hulp \n", "🙏 hulp", "- HULP", "Hülp", "HÚLP", "ｈｕｌｐ"])
def test_case_accents_punctuation_and_blanks_around_the_keyword(sms, text):
    assert sms.read(text).keyword == "HULP"


@pytest.mark.parametrize("text", ["masker19", "MASKER 19", "masker-19", "Masker_19", "masker.19", "MASKER - 19",
                                  "Masker 19!", "MAS KER 19"])
def test_a_keyword_written_with_a_space_or_hyphen(sms, text):
    reading = sms.read(text)
    assert (reading.category, reading.keyword) == ("dv_mask19", "MASKER19")
    assert reading.note is None


def test_detresse_matches_with_and_without_accent(sms):
    for text in ("DÉTRESSE", "detresse", "Détresse", "DETRESSE"):
        assert sms.read(text).keyword == "DÉTRESSE"


@pytest.mark.parametrize(("text", "keyword"), [
    ("HLUP", "HULP"),          # transposition: one Damerau-Levenshtein edit
    ("HULPP", "HULP"),         # insertion
    ("HUP", "HULP"),           # deletion
    ("HILFR", "HILFE"),        # substitution
    ("AIDER", "AIDE"),
    ("SEULE", "SEUL"),
    ("GEWLED", "GEWELD"),
    ("NOURITURE", "NOURRITURE"),   # 10 letters: one edit
    ("NOURITUR", "NOURRITURE"),    # ... or two
    ("MASKR19", "MASKER19"),
    ("MAKSR19", "MASKER19"),       # 8 letters: a transposition and a deletion
    ("maskr 19", "MASKER19"),      # a typo and a space
    ("MASKER 91", "MASKER19"),
    ("SERIGNUE", "SERINGUE"),
])
def test_common_typos_are_read(sms, text, keyword):
    assert sms.read(text).keyword == keyword


@pytest.mark.parametrize("text", [
    "HXLX",        # 4 letters, two edits from HULP and HELP: too far
    "WOOONNEN",    # two edits from WONEN (5), from WOHNEN (6)
    "MSQR19",      # three edits from MASKER19 and from MASQUE19
    "NORITUE",     # three edits from NOURRITURE
    "hallo", "bonjour", "goedemorgen",
])
def test_texts_too_far_from_any_keyword_go_to_the_catch_all(sms, text):
    reading = sms.read(text)
    assert (reading.category, reading.keyword, reading.reply) == ("sms_unclassified", None, "help")
    assert reading.language == "nl"


def test_common_words_listed_as_not_typos_are_not_read_as_keywords(sms):
    # GOOD is one edit from FOOD, LOVELY from LONELY: the file lists them as never typos.
    for text in ("Good morning", "Lovely", "soul", "Prise en charge"):
        assert sms.read(text).keyword is None, text
    assert sms.read("FOOF").keyword == "FOOD"   # the typo rule itself still holds


def test_the_keyword_is_only_looked_for_at_the_start(sms):
    reading = sms.read("ik heb HULP nodig")
    assert reading.keyword is None
    assert reading.note == "ik heb HULP nodig"


def test_a_postcode_before_the_keyword_is_skipped(sms):
    reading = sms.read("2800 HULP")
    assert (reading.keyword, reading.postcode, reading.note) == ("HULP", "2800", None)


def test_short_keywords_match_exactly_only(tmp_path):
    f = small(tmp_path, '[keywords.a]\nreply = "help"\nnl = ["SOS"]\n')
    assert f.read("sos").category == "a"
    assert f.read("SOS!").category == "a"
    assert f.read("SOD").category == "other"
    assert f.read("SOSS").category == "other"


def test_a_typo_equally_close_to_two_categories_goes_to_the_catch_all(tmp_path):
    # HULP and HAAP are two edits apart (the file may have both); HUAP is one from each.
    f = small(tmp_path, '[keywords.a]\nreply = "help"\nnl = ["HULP"]\n[keywords.b]\nreply = "help"\nnl = ["HAAP"]\n')
    reading = f.read("HUAP 2800 iets")
    assert (reading.category, reading.keyword) == ("other", None)
    assert reading.postcode == "2800"
    assert reading.note == "HUAP iets"   # nothing was taken as the keyword, so the word stays in the note
    assert f.read("HULX").category == "a"
    assert f.read("HAAX").category == "b"


def test_the_closer_of_two_typo_matches_wins(tmp_path):
    # ABCDEFGH (8 letters: two edits allowed) and ABCDE (5: one edit) are three apart, so the file may have both.
    # ABCDEF is within reach of both: one edit from ABCDE, two from ABCDEFGH; the closer one wins.
    f = small(tmp_path, '[keywords.a]\nreply = "help"\nnl = ["ABCDEFGH"]\n[keywords.b]\nreply = "help"\nnl = ["ABCDE"]\n')
    assert f.read("ABCDEF").category == "b"
    assert f.read("ABCDEFG").category == "a"   # one from ABCDEFGH, two (too many) from ABCDE
    assert f.read("ABCDEFGHIJ").category == "a"


def test_digits_only_are_never_a_typo(tmp_path):
    f = small(tmp_path, '[keywords.a]\nreply = "help"\nnl = ["B100"]\n')
    assert f.read("b100").category == "a"
    assert f.read("C100").category == "a"   # letters and digits: a typo
    assert f.read("100").category == "other"  # one edit away, but digits only
    assert f.read("1100").category == "other"


def test_an_exact_join_beats_a_typo_of_the_first_token(sms):
    # "MASKER" alone is two edits from MASKER19 (a typo); "MASKER 19" is the keyword exactly, over two tokens.
    reading = sms.read("MASKER 19 alles goed")
    assert (reading.keyword, reading.note) == ("MASKER19", "alles goed")
    reading = sms.read("MASKER alles goed")
    assert (reading.keyword, reading.note) == ("MASKER19", "alles goed")


# --- postcodes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "postcode"), [
    ("HULP 2800", "2800"),
    ("HULP 2800.", "2800"),
    ("HULP (2800)", "2800"),
    ("HULP,2800,ik", "2800"),
    ("HULP ik woon in 2812", "2812"),
    ("HULP 1000", "1000"),       # not in the file: still a Belgian postcode (the area falls back to the number)
    ("HULP 9992", "9992"),
    ("HULP 2800 of 2812", "2800"),  # the first one
    ("HULP 2800 12 kinderen", "2800"),
    ("HULP 28000", None),
    ("HULP 0999", None),
    ("HULP 9999", None),
    ("HULP 999", None),
    ("HULP 2800a", None),
    ("HULP €2800", None),
    ("HULP 0478 12 34 56", None),          # a phone number
    ("HULP 2800 2812", None),              # eight digits in groups: a number, or too unsure to say
    ("HULP bel 2800 1234 56", None),       # ten digits in a row of digit groups: a phone number, not a postcode
    ("HULP +32 2800 1234", None),
    ("HULP ２８００", None),                 # fullwidth digits: not how a postcode is typed
])
def test_postcode_extraction(sms, text, postcode):
    assert sms.read(text).postcode == postcode


def test_a_phone_number_stays_in_the_note_for_the_screening(sms):
    reading = sms.read("HULP bel 0478 12 34 56")
    assert reading.postcode is None
    assert reading.note == "bel 0478 12 34 56"


def test_the_catch_all_keeps_the_postcode(sms):
    reading = sms.read("hallo 2801 er ligt iets")
    assert (reading.category, reading.postcode, reading.note) == ("sms_unclassified", "2801", "hallo er ligt iets")


# --- notes -----------------------------------------------------------------------------------------------


def test_the_note_is_what_remains_with_blanks_collapsed(sms):
    reading = sms.read("  HULP   2800   ik  slaap\top   straat \n")
    assert reading.note == "ik slaap op straat"


def test_the_note_keeps_the_residents_characters(sms):
    reading = sms.read("AIDE 1000 J'ai besoin d'aide 🙏🏽, ça ne va pas — ليس لدي طعام")
    assert reading.note == "J'ai besoin d'aide 🙏🏽, ça ne va pas — ليس لدي طعام"


def test_separators_left_by_removed_tokens_are_dropped(sms):
    assert sms.read("HULP: ik slaap buiten").note == "ik slaap buiten"
    assert sms.read("HULP - ik slaap buiten").note == "ik slaap buiten"
    assert sms.read("HULP, 2800, ik slaap buiten").note == "ik slaap buiten"
    assert sms.read("aide: je suis seule, 1000.").note == "je suis seule"


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "🙏", "😢😢😢", "...", "HULP", "HULP 2800", "HULP 🙏", "2800"])
def test_no_note_when_nothing_but_keyword_postcode_emoji_or_blanks_remain(sms, text):
    assert sms.read(text).note is None


@pytest.mark.parametrize("text", ["", "   ", "😢", "\n"])
def test_empty_and_emoji_only_texts_go_to_the_catch_all(sms, text):
    reading = sms.read(text)
    assert reading == Reading(category="sms_unclassified", keyword=None, language="nl", postcode=None, note=None,
                              reply="help")


def test_a_reading_never_shows_the_note_in_its_repr(sms):
    reading = sms.read("HULP 2800 mijn buurman Jan Peeters slaat zijn vrouw")
    assert "Peeters" not in repr(reading)
    assert reading.note is not None and "Peeters" in reading.note


def test_the_file_never_shows_its_numbers_in_its_repr(sms):
    assert "15000000" not in repr(sms)


# --- areas -----------------------------------------------------------------------------------------------


def test_area_by_postcode_then_number(sms):
    assert sms.area(NUMBER, "2812") == "mechelen-nekkerspoel"
    assert sms.area(NUMBER, None) == "mechelen-binnenstad"
    assert sms.area(NUMBER, "1000") == "mechelen-binnenstad"   # a postcode the file does not know
    assert sms.area("+3233000000", "2801") == "mechelen-battel"
    assert sms.area("+3233000000", None) is None
    assert sms.area("+3233000000", "1000") is None


@pytest.mark.parametrize("recipient", ["+32 15 00 00 00", "015000000", "015 00 00 00", "3215000000", "0032 15 00 00 00"])
def test_area_finds_the_number_however_the_gateway_writes_it(sms, recipient):
    assert sms.area(recipient, None) == "mechelen-binnenstad"


@pytest.mark.parametrize("recipient", ["", "abc", "+3215000001", "+33150000000"])
def test_area_of_an_unknown_or_unreadable_recipient_is_none(sms, recipient):
    assert sms.area(recipient, None) is None


# --- replies ---------------------------------------------------------------------------------------------


def test_every_default_reply_fits_one_segment(sms):
    texts = [t for kind in sms.replies.values() for t in kind.values()]
    texts += [t for own in sms.reply_texts.values() for t in own.values()]
    assert len(texts) == 12
    for text in texts:
        assert segments(text) == 1, text


def test_help_replies_give_the_help_lines_in_the_readings_language(sms):
    assert "1712" in sms.reply_text(sms.read("HULP"))
    assert "0800 30 030" in sms.reply_text(sms.read("AIDE"))
    assert "0800 30 030" in sms.reply_text(sms.read("HILFE"))
    assert "112" in sms.reply_text(sms.read("HELP"))
    assert sms.reply_text(sms.read("HELP")).startswith("Message received")
    assert sms.reply_text(sms.read("hallo")) == sms.replies["help"]["nl"]


def test_the_distress_keyword_replies_with_the_suicide_lines(sms):
    assert "1813" in sms.reply_text(sms.read("CRISIS"))
    assert "0800 32 123" in sms.reply_text(sms.read("DETRESSE"))
    assert sms.reply_text(sms.read("CRISIS")) != sms.replies["help"]["nl"]


def test_mask19_gets_no_reply_at_all(sms):
    for word in ("MASKER19", "MASQUE19", "MASKE19", "MASK19", "masker 19 2800 hij is thuis"):
        assert sms.reply_text(sms.read(word)) is None


def test_neutral_replies_say_nothing_of_what_was_reported(sms):
    expected = {"nl": "Ontvangen.", "fr": "Bien reçu.", "de": "Erhalten.", "en": "Received."}
    assert dict(sms.replies["neutral"]) == expected
    for word, language in (("GEWELD", "nl"), ("VIOLENCE", "fr"), ("GEWALT", "de"), ("NEEDLE", "en")):
        assert sms.reply_text(sms.read(word)) == expected[language]


# --- refusals --------------------------------------------------------------------------------------------


def test_the_default_file_loads_from_a_path(tmp_path):
    assert load(variant(tmp_path), categories=SMS_CATEGORIES, areas=AREAS, locate=POLYGONS.resolve).catch_all == "sms_unclassified"


def test_refuses_an_unknown_category(tmp_path):
    message = refused(variant(tmp_path, ("[keywords.loneliness]", "[keywords.lonelyness]")))
    assert "keywords.lonelyness" in message and "unknown category" in message
    message = refused(variant(tmp_path, ('catch_all = "sms_unclassified"', 'catch_all = "misc"')))
    assert "catch_all" in message and "'misc'" in message


def test_refuses_an_unknown_area(tmp_path):
    message = refused(variant(tmp_path, ('"2801" = [51.0325, 4.4370]', '"2801" = "mechelen-heffen"')))
    assert "postcodes.2801" in message and "unknown area 'mechelen-heffen'" in message
    message = refused(variant(tmp_path, ('"+3215000000" = [51.0282, 4.4800]', '"+3215000000" = "mechelen"')))
    assert "numbers (entry 1)" in message and "unknown area" in message


def test_a_place_is_an_area_code_or_a_point_inside_the_territory(tmp_path):
    path = variant(tmp_path, ('"2801" = [51.0325, 4.4370]', '"2801" = "mechelen-arsenaal"'))
    assert load(path, categories=SMS_CATEGORIES, areas=AREAS, locate=POLYGONS.resolve).postcodes["2801"] == "mechelen-arsenaal"
    message = refused(variant(tmp_path, ('"2801" = [51.0325, 4.4370]', '"2801" = [50.85, 4.35]')))  # Brussels
    assert "postcodes.2801" in message and "outside the deployment's territory" in message
    for bad in ("[51.0]", '[51.0, "4.4"]', "[true, 4.4]"):
        message = refused(variant(tmp_path, ('"2801" = [51.0325, 4.4370]', f'"2801" = {bad}')))
        assert "a place is [latitude, longitude]" in message


@pytest.mark.parametrize("number", ["015000000", "+32 15 00 00 00", "3215000000", "+3215", "+32150000000000", "+32abc"])
def test_refuses_a_number_not_in_e164_without_quoting_it(tmp_path, number):
    message = refused(variant(tmp_path, ('"+3215000000" =', f'"{number}" =')))
    assert "numbers (entry 1)" in message and "E.164" in message
    assert number not in message and "15000000" not in message


def test_refuses_an_invalid_postcode_key(tmp_path):
    for postcode in ("0999", "9999", "28000", "abcd", "+32478123456"):
        message = refused(variant(tmp_path, ('"2801" =', f'"{postcode}" =')))
        assert "postcodes (entry 2)" in message and "1000-9992" in message
        assert postcode not in message


def test_refuses_a_keyword_claimed_by_two_categories(tmp_path):
    message = refused(variant(tmp_path, ('nl = ["EENZAAM"]', 'nl = ["EENZAAM", "hulp"]')))
    assert "keywords.loneliness.nl[1]" in message and "'sms_help_request'" in message
    # Also after normalisation: accents, case and spaces do not make a different word.
    message = refused(variant(tmp_path, ('nl = ["EENZAAM"]', 'nl = ["EENZAAM", "Hülp"]')))
    assert "already a keyword" in message


def test_allows_one_word_in_two_languages_of_one_category(tmp_path):
    f = load(variant(tmp_path, ('de = ["WOHNEN"]', 'de = ["WOHNEN", "LOGEMENT"]')), categories=SMS_CATEGORIES,
             areas=AREAS, locate=POLYGONS.resolve)
    assert f.read("logement").language == "fr"


def test_refuses_a_keyword_within_typo_distance_of_another_categorys(tmp_path):
    message = refused(variant(tmp_path, ('nl = ["EENZAAM"]', 'nl = ["EENZAAM", "HULPE"]')))
    assert "keywords.loneliness.nl" in message and "'HULPE'" in message and "typo distance" in message
    assert "'HULP'" in message
    # Two edits apart, both 8+ letters: still within the typo distance of 2.
    message = refused(variant(tmp_path, ('nl = ["NAALD", "SPUIT"]', 'nl = ["NAALD", "SPUIT", "LOGEMANTS"]')))
    assert "'LOGEMANTS'" in message and "'LOGEMENT'" in message


def test_refuses_a_keyword_without_letters(tmp_path):
    message = refused(variant(tmp_path, ('en = ["MASK19"]', 'en = ["MASK19", "19"]')))
    assert "keywords.dv_mask19.en[1]" in message and "no letter" in message


def test_refuses_an_unknown_language(tmp_path):
    message = refused(variant(tmp_path, ('en = ["LONELY"]', 'en = ["LONELY"]\nes = ["SOLO"]')))
    assert "keywords.loneliness.es" in message and "unknown key" in message
    message = refused(variant(tmp_path, ('default_language = "nl"', 'default_language = "es"')))
    assert "default_language" in message and "unknown language 'es'" in message


def test_refuses_a_reply_missing_a_language(tmp_path):
    message = refused(variant(tmp_path, ('de = "Erhalten."\n', '')))
    assert "replies.neutral" in message and "missing language(s) de" in message
    message = refused(variant(tmp_path, ('de = "Nachricht angekommen. Sprechen', 'xx = "Nachricht angekommen. Sprechen')))
    assert "keywords.mental_distress_acute.reply_text.xx" in message and "unknown language" in message


def test_refuses_an_override_missing_a_language(tmp_path):
    start = DEFAULT_TEXT.index(', de = "Nachricht angekommen. Sprechen')
    end = DEFAULT_TEXT.index(', en = "Message received. Talk')
    message = refused(variant(tmp_path, (DEFAULT_TEXT[start:end], "")))
    assert "keywords.mental_distress_acute.reply_text" in message and "missing language(s) de" in message


def test_refuses_a_reply_kind_in_use_without_its_texts(tmp_path):
    neutral = DEFAULT_TEXT[DEFAULT_TEXT.index("[replies.neutral]"):]
    message = refused(variant(tmp_path, (neutral, "")))
    assert "replies.neutral" in message and "missing" in message


@pytest.mark.parametrize(("text", "parts"), [("a" * 161, 2), ("€" * 81, 2), ("ç" * 71, 2), ("😀" * 36, 2)])
def test_refuses_a_reply_longer_than_one_segment(tmp_path, text, parts):
    message = refused(variant(tmp_path, ('en = "Received."', f'en = "{text}"')))
    assert "replies.neutral.en" in message and f"does not fit one SMS ({parts} segments" in message


def test_accepts_a_reply_of_exactly_one_segment(tmp_path):
    for text in ("a" * 160, "ç" * 70, "€" * 80):
        load(variant(tmp_path, ('en = "Received."', f'en = "{text}"')), categories=SMS_CATEGORIES, areas=AREAS, locate=POLYGONS.resolve)


def test_refuses_unknown_reply_kinds(tmp_path):
    message = refused(variant(tmp_path, ('reply = "none"', 'reply = "silent"')))
    assert "keywords.dv_mask19.reply" in message and "unknown reply kind 'silent'" in message
    message = refused(variant(tmp_path, ("[replies.neutral]", "[replies.quiet]")))
    assert "replies.quiet" in message and "unknown reply kind" in message
    message = refused(variant(tmp_path, ('catch_all_reply = "help"', 'catch_all_reply = "maybe"')))
    assert "catch_all_reply" in message


def test_refuses_a_reply_text_for_a_keyword_that_sends_nothing(tmp_path):
    message = refused(variant(tmp_path, ('en = ["MASK19"]\n', 'en = ["MASK19"]\nreply_text = { nl = "Hallo" }\n')))
    assert "keywords.dv_mask19.reply_text" in message and '"none"' in message


def test_refuses_a_catch_all_that_is_also_a_keywords_category(tmp_path):
    message = refused(variant(tmp_path, ('catch_all = "sms_unclassified"', 'catch_all = "loneliness"')))
    assert "catch_all" in message and "keyword's category" in message


def test_refuses_unknown_keys(tmp_path):
    message = refused(variant(tmp_path, ('default_language = "nl"', 'default_language = "nl"\ndefault_lang = "fr"')))
    assert "default_lang" in message and "unknown key" in message
    message = refused(variant(tmp_path, ('reply = "none"', 'repyl = "none"')))
    assert "keywords.dv_mask19.repyl" in message


def test_refuses_a_not_typo_that_is_a_keyword(tmp_path):
    message = refused(variant(tmp_path, ('not_typos = ["GOOD",', 'not_typos = ["good", "Hulp",')))
    assert "not_typos[1]" in message and "'sms_help_request'" in message


def test_refuses_text_that_is_not_toml_or_not_there(tmp_path):
    message = refused(variant(tmp_path, ("[numbers]", "[numbers")))
    assert "sms.toml" in message and "not valid TOML" in message
    message = refused(tmp_path / "missing.toml")
    assert "missing.toml" in message and "cannot be read" in message
