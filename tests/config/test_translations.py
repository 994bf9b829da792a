"""English and Russian are complete: every translatable string of the source is in the Russian
catalogues, every entry is translated (none empty, none fuzzy), and the compiled catalogues that ship
(.mo, so a machine needs no gettext tools) say what the .po files say."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The project catalogue covers config/, countries/, monitoring/ and templates/; reports/ keeps its own.
CATALOGUES = {
    "project": ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po",
    "reports": ROOT / "reports" / "locale" / "ru" / "LC_MESSAGES" / "django.po",
}
IGNORED = ["--ignore=.venv", "--ignore=staticfiles", "--ignore=tests", "--ignore=benchmarks", "--ignore=media"]


@dataclass
class Entry:
    context: str = ""
    msgid: str = ""
    msgid_plural: str = ""
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.context, self.msgid)


_STRING = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$')


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(0)), text)


def parse_po(path: Path) -> list[Entry]:
    """A small reader of the .po format: enough for completeness checks (obsolete `#~` entries skipped)."""
    entries: list[Entry] = []
    current = Entry()
    target: str | None = None
    fuzzy_next = False

    def flush() -> None:
        nonlocal current
        if current.msgid or current.msgstr:
            entries.append(current)
        current = Entry()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#,"):
            fuzzy_next = fuzzy_next or "fuzzy" in line
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            value = _unescape(line[1:-1])
            if target == "msgctxt":
                current.context += value
            elif target == "msgid":
                current.msgid += value
            elif target == "msgid_plural":
                current.msgid_plural += value
            else:
                current.msgstr[-1] += value
            continue
        match = _STRING.match(line)
        assert match, f"{path}: cannot read line {raw!r}"
        keyword, value = match.group(1), _unescape(match.group(2))
        if keyword in ("msgctxt", "msgid") and (current.msgstr or (keyword == "msgid" and current.msgid)):
            flush()
        if keyword in ("msgctxt", "msgid") and not current.msgid and not current.context:
            current.fuzzy = fuzzy_next
            fuzzy_next = False
        target = "msgstr" if keyword.startswith("msgstr") else keyword
        if keyword == "msgctxt":
            current.context = value
        elif keyword == "msgid":
            current.msgid = value
        elif keyword == "msgid_plural":
            current.msgid_plural = value
        else:
            current.msgstr.append(value)
    flush()
    return [entry for entry in entries if entry.msgid]  # the header has an empty msgid


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_russian_entry_is_translated_and_not_fuzzy(name):
    entries = parse_po(CATALOGUES[name])
    assert len(entries) > 50, name
    untranslated = [entry.msgid for entry in entries if not all(entry.msgstr)]
    fuzzy = [entry.msgid for entry in entries if entry.fuzzy]
    assert untranslated == [], f"{name}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert fuzzy == [], f"{name}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_the_shipped_mo_says_what_the_po_says(name):
    po_path = CATALOGUES[name]
    with open(po_path.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(po_path):
        if entry.msgid_plural:
            continue
        key = f"{entry.context}\x04{entry.msgid}" if entry.context else entry.msgid
        assert compiled._catalog.get(key) == entry.msgstr[0], f"{name}: {entry.msgid!r} differs in the .mo"


def _extract(workdir: Path) -> set[tuple[str, str]]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite://:memory:"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-obsolete", *IGNORED, "--ignore=static/vendor"],
        cwd=workdir,
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {entry.key for entry in parse_po(workdir / "locale" / "ru" / "LC_MESSAGES" / "django.po")}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (Debian package gettext)")
def test_every_translatable_string_of_the_source_is_in_the_russian_catalogues(tmp_path):
    # given a copy of the sources (with an empty catalogue, so extraction sees only the source)
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "fonts", "migrations", "locale")
    for name in ("config", "countries", "monitoring", "reports", "templates"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "locale").mkdir()

    # when the strings are extracted afresh
    extracted = _extract(copy)

    # then each is in one of the committed Russian catalogues (the project's or the report's)
    committed = {entry.key for path in CATALOGUES.values() for entry in parse_po(path)}
    missing = sorted(extracted - committed)
    assert len(extracted) > 100
    assert not missing, (
        f"{len(missing)} strings not in the Russian catalogues, e.g. {missing[:8]} (run `make messages`)"
    )
