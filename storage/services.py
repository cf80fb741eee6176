"""Every write to documents: store an upload, delete a document; and the download response.

Blob and row must never part company. A blob is written before its row, so a rolled-back
transaction would orphan it: the session hooks below delete every blob written in a transaction
that does not commit, and delete a removed document's blob only once its row is gone for good.
Authorisation is the calling route's job; this module knows nothing of who may see what.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from typing import IO, Any
from urllib.parse import quote

from flask import Response, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.wsgi import FileWrapper

from amtsweg.audit.models import ActorKind
from amtsweg.audit.services import Actor, record
from amtsweg.config import Settings
from amtsweg.db import innermost_transaction, take_made_within
from amtsweg.extensions import db
from amtsweg.translate import lazy_gettext as _l
from storage.blobstore import CHUNK_SIZE, BlobStore, StoredBlob, get_blobstore
from storage.checks import RejectedUpload, inspect_upload
from storage.models import Document
from storage.scanner import ScanLimitExceeded, ScannerError, get_scanner

log = logging.getLogger(__name__)

_WRITTEN = "storage_blobs_written"
_TO_DELETE = "storage_blobs_to_delete"
_OWNER_KINDS = {ActorKind.CITIZEN: "citizen", ActorKind.STAFF: "staff",
                ActorKind.SYSTEM: "system"}


def store_upload(upload: IO[bytes], filename: str | None, owner: Actor, *,
                 flush: bool = True) -> Document:
    """Check an upload, scan it for malware (when configured), stream it into the blob store
    and add its row and audit entry.

    Raises :class:`storage.checks.RejectedUpload` before anything is written. The caller
    commits; if it rolls back instead, the blob is deleted again. The row is flushed, so the
    document has its id, unless ``flush=False``: a caller that stores several files, or links
    the document only through relationships, lets its own next flush write them all at once.
    """
    owner_kind = _owner_kind(owner)
    settings: Settings = current_app.config["AMTSWEG"]
    checked = inspect_upload(upload, filename, settings.max_upload_bytes)
    store = get_blobstore()
    with checked.spool:
        refuse_malware(checked.spool, owner)
        blob = store.put(checked.spool, size=checked.size)
    return _add_document(store, blob, checked.filename, checked.media_type, owner_kind, owner,
                         flush)


def store_generated(content: bytes, filename: str, media_type: str, owner: Actor, *,
                    flush: bool = True) -> Document:
    """Store a file the office made itself (a receipt, a Bescheid, a letter).

    The upload checks and the virus scan exist because a citizen's file is untrusted; a PDF
    the app has just drawn is not, and parsing it again cost as much as drawing it. The caller
    commits and may leave the flush to itself, as with :func:`store_upload`.
    """
    owner_kind = _owner_kind(owner)
    store = get_blobstore()
    blob = store.put(io.BytesIO(content), size=len(content))
    return _add_document(store, blob, filename, media_type, owner_kind, owner, flush)


def _add_document(store: BlobStore, blob: StoredBlob, filename: str, media_type: str,
                  owner_kind: str, owner: Actor, flush: bool) -> Document:
    """The row and audit entry of a blob just written; the blob goes if the transaction does."""
    _remember(_WRITTEN, store, blob.key)
    document = Document(filename=filename, media_type=media_type, size=blob.size,
                        sha256=blob.sha256, storage_key=blob.key, owner_kind=owner_kind,
                        owner_id=owner.id)
    db.session.add(document)
    # The entry names the document by the id its flush gives it.
    record(owner, "document.stored", "document", document, after=document.audit_view())
    if flush:
        db.session.flush()
    return document


def refuse_malware(spool: IO[bytes], owner: Actor) -> None:
    """Scan the spooled upload when scanning is configured; refuse it unless it is clean.

    Runs after the type checks and before the blob store sees a byte. When scanning is
    configured, a file that could not be scanned is refused: an unscanned file in the store
    would reach a caseworker's machine as trusted.
    """
    scanner = get_scanner()
    if scanner is None:
        return
    try:
        result = scanner.scan(spool)
    except ScanLimitExceeded:
        log.error("virus scan refused the upload: clamd's StreamMaxLength is below the "
                  "upload limit")
        raise RejectedUpload(_l("The file is too large for the virus check. Please send a "
                                "smaller file.")) from None
    except ScannerError as error:
        # The class only: the message could name the socket, never anything of the file.
        log.error("virus scan failed: %s", type(error).__name__)
        raise RejectedUpload(_l("The file cannot be checked for viruses at the moment and "
                                "was not accepted. Please try again later.")) from None
    finally:
        spool.seek(0)
    if not result.clean:
        log.warning("upload refused by the virus scanner: %s (owner %s %s)", result.signature,
                    owner.kind.value, owner.id)
        raise RejectedUpload(_l("The file contains malware (%(signature)s) and was not "
                                "accepted.", signature=result.signature))


def _owner_kind(owner: Actor) -> str:
    kind = _OWNER_KINDS.get(owner.kind)
    if kind is None:
        raise ValueError("an anonymous visitor cannot own a document")
    return kind


def open_document(document: Document) -> IO[bytes]:
    return get_blobstore().open(document.storage_key)


def delete_document(document: Document, actor: Actor) -> None:
    """Delete the row now and the blob once the transaction commits."""
    record(actor, "document.deleted", "document", document.id, before=document.audit_view())
    _remember(_TO_DELETE, get_blobstore(), document.storage_key)
    db.session.delete(document)
    db.session.flush()


def record_document_read(document: Document, actor: Actor) -> None:
    """Log a staff member's read of a document (§ 35 SGB I: every access to social data)."""
    record(actor, "document.read", "document", document.id)


# --- downloads --------------------------------------------------------------------------------


def document_response(document: Document, *, inline: bool = False) -> Response:
    """A streamed response for the document, safe against content sniffing and caching."""
    stream = open_document(document)
    # FileWrapper closes the blob stream when the server closes the response, even if the
    # client went away before the first byte.
    response = Response(FileWrapper(stream, CHUNK_SIZE), mimetype=document.media_type,
                        direct_passthrough=True)
    response.content_length = document.size
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = content_disposition(disposition, document.filename)
    # The stored type is the sniffed one; nosniff keeps the browser from guessing another.
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Social data must not stay in a shared or browser cache.
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        # A PDF shown in the browser runs in an opaque origin without scripts or forms, so even
        # a hostile PDF that slipped past the checks cannot act on the user's session.
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266 with an ASCII fallback name and the real one in ``filename*`` (RFC 5987)."""
    ascii_name = (unicodedata.normalize("NFKD", filename).encode("ascii", "ignore")
                  .decode("ascii").replace("\\", "").replace('"', "").strip()) or "dokument"
    encoded = quote(filename, safe="")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


# --- keeping blobs and rows together ----------------------------------------------------------


# Each blob is listed with the transaction it was written or deleted in (amtsweg.db).
_Entry = tuple[BlobStore, str, SessionTransaction | None]


def _remember(bucket: str, store: BlobStore, key: str) -> None:
    session = db.session()
    session.info.setdefault(bucket, []).append((store, key, innermost_transaction(session)))


def _take(session: Session, bucket: str) -> list[_Entry]:
    entries: list[_Entry] = session.info.pop(bucket, [])
    return entries


def _delete_blobs(entries: list[_Entry]) -> None:
    for store, key, _transaction in entries:
        try:
            store.delete(key)
        except Exception as error:  # the transaction outcome stands; the key is logged for sweep
            log.error("could not delete blob %s: %s", key, type(error).__name__)


def _after_commit(session: Session) -> None:
    # Also called when a savepoint is released; the outer transaction may still roll back.
    if session.in_nested_transaction():
        return
    session.info.pop(_WRITTEN, None)
    _delete_blobs(_take(session, _TO_DELETE))


def _after_soft_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    if not rolled_back.nested:
        return  # the outermost transaction: _after_transaction_end decides
    # Rows written in the savepoint are gone, so no row will ever name their blobs (and a
    # retention run, which deletes documents by their rows, would never find them).
    _delete_blobs(take_made_within(session, _WRITTEN, rolled_back, _made_in))
    # Rows deleted in it are back: their blobs must stay.
    take_made_within(session, _TO_DELETE, rolled_back, _made_in)


def _made_in(entry: _Entry) -> SessionTransaction | None:
    return entry[2]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Only the outermost transaction decides; anything still listed here was not committed
    # (rollback, or the session closed at the end of the request without a commit).
    if transaction.parent is not None or transaction.nested:
        return
    _delete_blobs(_take(session, _WRITTEN))
    session.info.pop(_TO_DELETE, None)


def install_session_hooks() -> None:
    """Attach the blob clean-up to ``db.session`` (once per process)."""
    hooks: list[tuple[str, Any]] = [("after_commit", _after_commit),
                                    ("after_soft_rollback", _after_soft_rollback),
                                    ("after_transaction_end", _after_transaction_end)]
    for name, hook in hooks:
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
