"""Find and delete blobs that no row names (``amtsweg storage sweep``).

A blob is written before the row that names it is committed, and deleted only after the row's
deletion is. A process killed between the two, or a store that was down when a delete was due,
leaves a blob behind that no row names. Such a blob may hold social data that no retention run
will ever find: retention deletes documents by their rows. The sweep finds them.

Which columns name blobs is read from the models (``info={"blob_key": True}``), so a package
that keeps blobs of its own (the IHV transfer files) is covered without storage knowing it.
Only blobs older than a grace period are considered: a younger one may belong to a transaction
still running.

The same goes for the temporary file of a write that never finished (the file store writes a
blob, and receives a large upload while the request arrives, under a temporary name and renames
it when kept): a process killed mid-upload leaves part of a document there. Past the grace
period no write is still running, so the sweep deletes those too, whatever the database says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import Column, select

from amtsweg.audit.services import SYSTEM, record
from amtsweg.db import Base, utcnow
from amtsweg.extensions import db
from storage.blobstore import BlobStore

DEFAULT_GRACE = timedelta(hours=24)
_BATCH = 500


class SweepRefused(Exception):
    """The sweep would delete every blob it looked at: most likely the wrong database."""


@dataclass(frozen=True)
class SweepReport:
    considered: int  # blobs older than the grace period
    orphans: list[str]
    deleted: int
    unfinished: list[str] = field(default_factory=list)  # temporary files of cut-off writes


def blob_key_columns() -> list[Column[str]]:
    """Every column of every model that names blobs."""
    return [column for table in Base.metadata.sorted_tables for column in table.columns
            if column.info.get("blob_key")]


def find_orphans(store: BlobStore, written_before: datetime) -> Iterator[tuple[str, bool]]:
    """Every blob written before ``written_before``, with whether it is an orphan (no row
    names it); asked of the database a batch at a time, so memory stays flat."""
    columns = blob_key_columns()
    keys = store.keys_written_before(written_before)
    while batch := list(islice(keys, _BATCH)):
        named = _named(columns, batch)
        yield from ((key, key not in named) for key in batch)


def _named(columns: Iterable[Column[str]], keys: list[str]) -> set[str]:
    named: set[str] = set()
    for column in columns:
        named.update(db.session.scalars(select(column).where(column.in_(keys))))
    return named


def sweep(store: BlobStore, *, grace: timedelta = DEFAULT_GRACE, delete: bool,
          force: bool = False) -> SweepReport:
    """List the orphaned blobs and, with ``delete``, delete them (with one audit entry).

    Refuses to delete when no blob it looked at is named by any row (an empty or wrong
    database would otherwise cost every document), unless ``force``.
    """
    if grace < timedelta(hours=1):
        raise ValueError("the grace period must be at least one hour")
    cutoff = utcnow() - grace
    considered = 0
    orphans: list[str] = []
    for key, orphaned in find_orphans(store, cutoff):
        considered += 1
        if orphaned:
            orphans.append(key)
    unfinished = list(store.unfinished_writes_before(cutoff))
    if not delete or not (orphans or unfinished):
        return SweepReport(considered, orphans, 0, unfinished)
    if orphans and len(orphans) == considered and not force:
        raise SweepRefused(f"no row names any of the {considered} blob(s)")
    for key in orphans:
        store.delete(key)
    for name in unfinished:
        store.discard_unfinished_write(name)
    # Keys are random and name nobody; the entry says how many went and when.
    record(SYSTEM, "storage.swept", "storage", after={
        "deleted": len(orphans), "unfinished_deleted": len(unfinished),
        "grace_hours": grace / timedelta(hours=1)})
    db.session.commit()
    return SweepReport(considered, orphans, len(orphans), unfinished)
