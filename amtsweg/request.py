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
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.formparser import FormDataParser, MultiPartParser

MULTIPART_READ_SIZE = 256 * 1024


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
