"""Upload fields in forms: a required-file validator and a helper that stores the file and turns
a refusal into an error on the field, so the page shows it and keeps every other input."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import Field
from wtforms.validators import StopValidation

from amtsweg.audit.services import Actor
from amtsweg.translate import lazy_gettext as _l
from storage.blobstore import StorageUnavailable
from storage.checks import RejectedUpload
from storage.models import Document
from storage.services import store_upload


class UploadRequired:
    """Require a chosen file (an empty file is caught later, with its own message)."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form: FlaskForm, field: Field) -> None:
        data: Any = field.data
        if isinstance(data, FileStorage) and data.filename:
            return
        raise StopValidation(self.message or _l("Select a file to upload."))


STORAGE_UNAVAILABLE = _l("The file could not be saved right now (the document storage cannot be "
                         "reached). Your other entries have been kept. Please try again in a few "
                         "minutes.")


def store_field_upload(field: Field, owner: Actor, *, flush: bool = True) -> Document | None:
    """Store the field's file; on refusal put the reason on the field and return ``None``.

    ``flush`` as in :func:`storage.services.store_upload`."""
    upload: Any = field.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        field.errors = [*field.errors, _l("Select a file to upload.")]
        return None
    try:
        return store_upload(upload.stream, upload.filename, owner, flush=flush)
    except RejectedUpload as refusal:
        field.errors = [*field.errors, refusal.message]
        return None
    except StorageUnavailable:
        # Nothing was stored; the page keeps every other input, so the person only sends the
        # file again once the storage is back.
        field.errors = [*field.errors, STORAGE_UNAVAILABLE]
        return None
