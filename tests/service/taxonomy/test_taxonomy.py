"""The shipped taxonomy, the strict loader and the download document's ETag."""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from service.taxonomy import CHANNELS, PHENOMENA, Taxonomy, TaxonomyError, load_taxonomy

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
PACKAGE = Path(resources.files("service.taxonomy"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def default() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture
def doc() -> dict:
    """A fresh, editable copy of the shipped file's JSON."""
    return json.loads((PACKAGE / "default_taxonomy.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, doc: dict, **dump_options) -> Path:
    path = tmp_path / "taxonomy.json"
    options = {"ensure_ascii": False, **dump_options}
    path.write_text(json.dumps(doc, **options), encoding="utf-8")
    return path


def category(doc: dict, code: str) -> dict:
    return next(c for c in doc["categories"] if c["code"] == code)


# --- the shipped default ---------------------------------------------------------------------------


def test_default_loads_with_a_version(default):
    assert default.version
    assert 20 <= len(default.categories) <= 27


def test_default_has_the_four_phenomena_in_plan_order(default):
    assert tuple(default.phenomena) == PHENOMENA
    for labels in default.phenomena.values():
        assert {"nl", "fr", "en"} <= labels.keys()


def test_every_category_has_three_languages_channels_and_a_snake_case_code(default):
    for code, cat in default.categories.items():
        assert cat.code == code
        assert SNAKE_CASE.match(code)
        assert cat.phenomenon in PHENOMENA
        assert cat.channels and cat.channels <= CHANNELS
        for lang in ("nl", "fr", "en"):
            assert cat.labels[lang].strip() == cat.labels[lang] != ""


def test_every_phenomenon_has_categories(default):
    used = {cat.phenomenon for cat in default.categories.values()}
    assert used == set(PHENOMENA)


def test_labels_are_distinct_within_each_language(default):
    # Two categories with the same label could not be told apart in the app.
    for lang in ("nl", "fr", "en"):
        labels = [cat.labels[lang] for cat in default.categories.values()]
        assert len(labels) == len(set(labels)), lang


def test_mask19_is_a_victimisation_signal_of_the_counter_and_of_text_messages(default):
    mask19 = default.categories["dv_mask19"]
    assert mask19.phenomenon == "victimisation"
    # Said at the pharmacy counter, or texted (MASKER19) to the municipal number; a field worker
    # does not hear the code word.
    assert mask19.channels == frozenset({"pharmacy", "sms"})
    assert "Masker 19" in mask19.labels["nl"]
    assert "Masque 19" in mask19.labels["fr"]
    assert default.allows("dv_mask19", "pharmacy")
    assert not default.allows("dv_mask19", "field")


def test_allows_refuses_unknown_codes_and_channels(default):
    assert default.allows("housing_need", "field")
    assert not default.allows("housing_need", "post")
    assert not default.allows("no_such_category", "pharmacy")
    assert not default.allows("", "pharmacy")


def test_default_referral_kinds(default):
    expected = {
        "caw", "ocmw_cpas", "police", "gp", "mental_health", "drug_service",
        "family_justice_centre", "victim_support", "housing_service", "food_bank", "other",
    }  # fmt: skip
    assert expected <= default.referral_kinds.keys()
    for code, labels in default.referral_kinds.items():
        assert SNAKE_CASE.match(code)
        assert {"nl", "fr", "en"} <= labels.keys()


def test_taxonomy_is_immutable(default):
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        default.categories["x"] = default.categories["dv_mask19"]  # type: ignore[index]
    with pytest.raises(TypeError):
        default.categories["dv_mask19"].labels["nl"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        default.phenomena["nuisance"]["nl"] = "x"  # type: ignore[index]


def test_none_and_the_shipped_path_load_the_same(default):
    assert load_taxonomy(PACKAGE / "default_taxonomy.json").etag == default.etag
    assert load_taxonomy(str(PACKAGE / "default_taxonomy.json")).etag == default.etag


# --- the download document and its ETag ------------------------------------------------------------


def test_document_is_canonical_json_of_the_content(default, doc):
    assert json.loads(default.document) == {
        **doc,
        "categories": [{**c, "channels": sorted(c["channels"])} for c in doc["categories"]],
    }
    # Compact, sorted keys, UTF-8 rather than \u escapes.
    reencoded = json.dumps(json.loads(default.document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert default.document == reencoded.encode("utf-8")


def test_etag_is_the_quoted_sha256_of_the_document(default):
    assert default.etag == '"' + hashlib.sha256(default.document).hexdigest() + '"'


def test_etag_is_stable_across_loads_and_reformatting(default, doc, tmp_path):
    assert load_taxonomy().etag == default.etag
    reformatted = tmp_path / "reformatted"
    reformatted.mkdir()
    shuffled = {key: doc[key] for key in reversed(list(doc))}  # key order within objects is not content
    shuffled["categories"] = [{key: cat[key] for key in reversed(list(cat))} for cat in doc["categories"]]
    for cat in shuffled["categories"]:
        cat["channels"].reverse()  # channels are a set
    path = write(reformatted, shuffled, indent=7, ensure_ascii=True)
    assert load_taxonomy(path).etag == default.etag


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: d.update(version="2026.2"), id="version"),
        pytest.param(lambda d: category(d, "loneliness")["labels"].update(fr="Isolement"), id="label"),
        pytest.param(lambda d: category(d, "vandalism").update(channels=["field"]), id="channel"),
        pytest.param(lambda d: d["categories"].reverse(), id="order"),
        pytest.param(lambda d: d["referral_kinds"].pop(), id="referral kind"),
        pytest.param(lambda d: category(d, "loneliness")["labels"].update(de="Einsamkeit"), id="optional de"),
    ],
)
def test_etag_changes_with_content(default, doc, tmp_path, edit):
    edit(doc)
    changed = load_taxonomy(write(tmp_path, doc))
    assert changed.etag != default.etag
    assert changed.document != default.document


def test_optional_german_label_is_kept(doc, tmp_path):
    category(doc, "loneliness")["labels"]["de"] = "Einsamkeit"
    taxonomy = load_taxonomy(write(tmp_path, doc))
    assert taxonomy.categories["loneliness"].labels["de"] == "Einsamkeit"
    assert "de" not in taxonomy.categories["vandalism"].labels


# --- invalid files ---------------------------------------------------------------------------------


def _duplicate_category(d):
    d["categories"].append(copy.deepcopy(d["categories"][0]))


def _drop_fr(d):
    del category(d, "food_insecurity")["labels"]["fr"]


INVALID = [
    pytest.param(_duplicate_category, "duplicate category code 'dv_mask19'", id="duplicate category"),
    pytest.param(lambda d: category(d, "vandalism").update(phenomenon="crime"), "unknown phenomenon 'crime'", id="category phenomenon"),
    pytest.param(lambda d: d["phenomena"].append({"code": "crime", "labels": {"nl": "a", "fr": "b", "en": "c"}}), "unknown phenomenon 'crime'", id="declared phenomenon"),
    pytest.param(lambda d: d["phenomena"].pop(0), "unknown phenomenon 'victimisation'", id="undeclared phenomenon"),
    pytest.param(lambda d: d["phenomena"].append(copy.deepcopy(d["phenomena"][0])), "duplicate phenomenon code", id="duplicate phenomenon"),
    pytest.param(_drop_fr, "missing required field `fr` - at `$.categories[22].labels`", id="missing fr"),
    pytest.param(lambda d: category(d, "loneliness")["labels"].update(it="Solitudine"), "unknown field `it`", id="unknown language"),
    pytest.param(lambda d: d.update(colour="red"), "unknown field `colour`", id="unknown top-level field"),
    pytest.param(lambda d: category(d, "vandalism").update(severity=3), "unknown field `severity`", id="unknown category field"),
    pytest.param(lambda d: category(d, "vandalism").update(channels=[]), "length >= 1 - at `$.categories[11].channels`", id="no channels"),
    pytest.param(lambda d: category(d, "vandalism").update(channels=["field", "post"]), "unknown channel 'post'", id="unknown channel"),
    pytest.param(lambda d: category(d, "vandalism").update(channels=["field", "field"]), "duplicate channel 'field'", id="repeated channel"),
    pytest.param(lambda d: category(d, "vandalism").update(code="Vandalism"), "at `$.categories[11].code`", id="code not snake_case"),
    pytest.param(lambda d: category(d, "vandalism").update(code="vandalism "), "at `$.categories[11].code`", id="code with blank"),
    pytest.param(lambda d: category(d, "vandalism")["labels"].update(nl="  "), "at `$.categories[11].labels.nl`", id="blank label"),
    pytest.param(lambda d: category(d, "vandalism")["labels"].update(nl="Vandalisme\nen meer"), "at `$.categories[11].labels.nl`", id="multi-line label"),
    pytest.param(lambda d: category(d, "vandalism")["labels"].update(en=None), "Expected `str`, got `null`", id="null label"),
    pytest.param(lambda d: d["referral_kinds"].append({"code": "police", "labels": {"nl": "a", "fr": "b", "en": "c"}}), "duplicate referral kind code 'police'", id="duplicate referral kind"),
    pytest.param(lambda d: d["referral_kinds"][0]["labels"].pop("nl"), "missing required field `nl`", id="referral kind label"),
    pytest.param(lambda d: d.pop("version"), "missing required field `version`", id="no version"),
    pytest.param(lambda d: d.update(version=""), "at `$.version`", id="empty version"),
    pytest.param(lambda d: d.update(categories=[]), "at `$.categories`", id="no categories"),
]


@pytest.mark.parametrize("edit, message", INVALID)
def test_invalid_files_are_refused_with_the_problem_named(doc, tmp_path, edit, message):
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_malformed_json_is_refused(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text('{"version": "1", "phenomena": [', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="malformed"):
        load_taxonomy(path)


def test_a_document_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="Expected `object`, got `array`"):
        load_taxonomy(path)


def test_a_missing_file_is_a_taxonomy_error(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read taxonomy file .*nope.json"):
        load_taxonomy(tmp_path / "nope.json")


# --- boundaries ------------------------------------------------------------------------------------


def test_the_package_does_not_import_flask():
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in {"flask", "flask_smorest"} for n in names), module.name
