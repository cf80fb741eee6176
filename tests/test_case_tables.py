"""Every table that hangs off a case has an ``id`` primary key.

Retention deletes a case with everything that belongs to it by walking the foreign keys and
collecting row ids (backoffice/retention.py); a table without an ``id`` would make that walk
fail for every case. A new module's table is checked here the day it is added.
"""

from __future__ import annotations

import amtsweg.app  # noqa: F401  (every model module registered)
from amtsweg.db import Base


def _reaches_a_case(table_name: str, seen: frozenset[str] = frozenset()) -> bool:
    table = Base.metadata.tables[table_name]
    for fk in table.foreign_keys:
        target = fk.column.table.name
        if target == "faelle":
            return True
        if target not in seen and target != table_name and _reaches_a_case(target,
                                                                            seen | {table_name}):
            return True
    return False


def test_every_table_of_a_case_has_an_id() -> None:
    without_id = [name for name, table in Base.metadata.tables.items()
                  if "id" not in table.c and _reaches_a_case(name)]
    assert without_id == []
