"""Every page message is translated in nl, fr and de, and the compiled catalogues match their sources."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = sorted(path for path in (ROOT / "service").glob("*/translations") if path.is_dir())
LANGUAGES = ("nl", "fr", "de")


def _messages(catalog) -> dict:  # type: ignore[no-untyped-def]
    # A plural message's id and strings come back from a .mo as lists (unhashable): as tuples.
    def frozen(value):  # type: ignore[no-untyped-def]
        return tuple(value) if isinstance(value, list) else value
    return {frozen(m.id): frozen(m.string) for m in catalog if m.id}


def test_the_pages_have_catalogues():
    assert ROOT / "service" / "web" / "translations" in FOLDERS


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.parent.name)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_compiled(folder: Path, language: str) -> None:
    template = read_po(io.BytesIO((folder / "messages.pot").read_bytes()))
    source = folder / language / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(source.read_bytes()), locale=language)
    assert not catalog.fuzzy, f"{source}: the header is marked fuzzy (pybabel would not compile it); run scripts/translations"
    wanted = {message.id for message in template if message.id}
    have = {message.id for message in catalog if message.id}
    assert wanted <= have, f"{source}: run scripts/translations; missing {sorted(map(str, wanted - have))[:5]}"
    untranslated = [message.id for message in catalog if message.id and (
        message.fuzzy or not (all(message.string) if isinstance(message.string, tuple) else message.string))]
    assert not untranslated, f"{source}: not translated (or fuzzy): {untranslated[:5]}"
    compiled = read_mo(io.BytesIO((folder / language / "LC_MESSAGES" / "messages.mo").read_bytes()))
    expected = io.BytesIO()
    write_mo(expected, catalog)
    expected.seek(0)
    fresh = read_mo(expected)
    assert _messages(compiled) == _messages(fresh), \
        f"{folder}/{language}: the .mo is older than the .po; run scripts/translations"
