"""Write a PO file from a Python dict of msgid → German msgstr (used while parts are merged)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po


def write(path: Path, translations: dict[str, str]) -> None:
    catalog = Catalog(locale="de", project="Amtsweg")
    for msgid, msgstr in translations.items():
        flags = ("python-format",) if "%(" in msgid else ()
        catalog.add(msgid, msgstr, flags=flags)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True)


if __name__ == "__main__":
    sys.exit("import this module")
