"""German is the default language: every English msgid in code and templates has its German."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def test_every_message_has_a_german_translation(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    keywords = ["-k", "_l", "-k", "lazy_gettext", "-k", "StaffError"]  # as the Makefile's
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", *keywords,
                    "-o", str(template), "--no-location", "."], cwd=ROOT, check=True)
    with template.open("rb") as fh:
        wanted = {message.id for message in read_po(fh) if message.id}
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    assert not catalog.fuzzy, "a fuzzy catalogue header makes pybabel compile skip the file"
    missing = []
    for msgid in sorted(wanted, key=str):
        message = catalog.get(msgid)
        translated = message is not None and not message.fuzzy and (
            all(message.string) if isinstance(message.string, tuple) else bool(message.string))
        if not translated:
            missing.append(msgid)
    assert len(wanted) > 30
    assert missing == [], f"{len(missing)} messages without German translation: {missing[:20]}"
