"""Merge translations/parts/*.po into translations/de/LC_MESSAGES/messages.po and compile it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    if TARGET.exists():
        with TARGET.open("rb") as fh:
            catalog = read_po(fh, locale="de")
    else:
        from babel.messages.catalog import Catalog

        catalog = Catalog(locale="de", project="Amtsweg")
    for part in sorted((ROOT / "translations" / "parts").glob("*.po")):
        with part.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id and message.string:
                    catalog[message.id] = message
    # A catalogue whose header is fuzzy is skipped by `pybabel compile`: the site would be English.
    catalog.fuzzy = False
    catalog.project = "Amtsweg"
    catalog.language_team = "Amtsweg"
    catalog.last_translator = "Amtsweg"
    with TARGET.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True)
    with TARGET.with_suffix(".mo").open("wb") as fh:
        write_mo(fh, catalog)
    print(f"{len(catalog)} messages in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
