"""The app's request class: form and query values never carry a NUL character.

Nobody types NUL; it arrives only from a hostile or broken client. PostgreSQL refuses to store
it in text (SQLite stores it), so a value that passed a form's checks would fail at the database
and the person would lose the whole form. Dropped here, once for every form, the rest of what
was entered goes through the form's own checks as usual. Files are left as they are: only text
values are touched.

Multipart bodies are read 256 KiB at a time instead of Werkzeug's 64 KiB: each read of the body
goes through gunicorn's reader, which copies what it has read ahead every time, and the decoder
searches its buffer for the boundary once per read. For the two 1 MB files of an application
that is about a fifth of the parsing (bench/README.md, "submit.py"); the decoder's buffer stays
a few hundred KiB whatever the size of the upload.

A file in a body larger than Werkzeug keeps in memory is received straight into the document
store where it can be (the file store registers :data:`RECEIVE_UPLOADS`): written once, hashed as
it arrives, checked where it lies and kept by a rename. Werkzeug's own temporary file had to be
read back and written again to store it: 1–2 ms of a UVG application's two files
(bench/README.md, "thirteenth session"). A file no view keeps is deleted when the request ends.
"""

from __future__ import annotations

from typing import Any

from flask import Request, current_app
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.formparser import FormDataParser, MultiPartParser

MULTIPART_READ_SIZE = 256 * 1024
# A body up to this size is spooled as Werkzeug does (each file in memory up to 500 KiB, then
# on disk); a larger body's files arrive in the document store.
IN_MEMORY_BODY = 500 * 1024
# The app extension that makes a new file in the document store for an upload to arrive in.
RECEIVE_UPLOADS = "amtsweg_receive_uploads"


class WithoutNul(ImmutableMultiDict[str, Any]):
    def __init__(self, mapping: Any = None) -> None:
        pairs = MultiDict(mapping).items(multi=True) if mapping is not None else ()
        super().__init__([(key, value.replace("\x00", "") if isinstance(value, str) else value)
                          for key, value in pairs])


class LargerReads(FormDataParser):
    def _parse_multipart(self, stream: Any, mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> Any:
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = MultiPartParser(stream_factory=self.stream_factory,
                                 max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls,
                                 buffer_size=MULTIPART_READ_SIZE)
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class AmtswegRequest(Request):
    parameter_storage_class = WithoutNul
    form_data_parser_class = LargerReads

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None
                         ) -> Any:
        receive = current_app.extensions.get(RECEIVE_UPLOADS)
        large = total_content_length is None or total_content_length > IN_MEMORY_BODY
        if receive is not None and large:
            try:
                return receive()
            except OSError:
                # The store cannot take a file now: spooled instead, the upload meets the
                # store's error where the view stores it.
                pass
        return super()._get_file_stream(total_content_length, content_type, filename,
                                        content_length)
