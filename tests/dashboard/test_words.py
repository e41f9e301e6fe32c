"""Every page speaks both languages: each words table has the same keys in zh and en."""

from __future__ import annotations

import importlib
import pkgutil

import onegrid.dashboard
from onegrid.dashboard.i18n import COMMON, LANGUAGES, Words


def words_tables() -> dict[str, Words]:
    """Return every module-level Words table of the dashboard, by module and name."""
    found = {"i18n.COMMON": COMMON}
    for info in pkgutil.walk_packages(onegrid.dashboard.__path__, "onegrid.dashboard."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Words) and value is not COMMON:
                found[f"{info.name}.{name}"] = value
    return found


def test_every_words_table_has_the_same_keys_in_both_languages():
    tables = words_tables()
    assert len(tables) >= 6  # the shared words and the pages' own
    for where, table in tables.items():
        zh, en = (table.keys(lang) for lang in LANGUAGES)
        assert zh == en, f"{where}: only zh {sorted(zh - en)}, only en {sorted(en - zh)}"


def test_no_text_is_empty_in_either_language():
    for where, table in words_tables().items():
        for lang in LANGUAGES:
            empty = [k for k in table.keys(lang) if not table.table[lang][k].strip()]
            assert not empty, f"{where} {lang}: {empty}"
