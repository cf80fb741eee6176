"""The app's request class: form and query values never carry a NUL character.

Nobody types NUL; it arrives only from a hostile or broken client. PostgreSQL refuses to store
it in text (SQLite stores it), so a value that passed a form's checks would fail at the database
and the person would lose the whole form. Dropped here, once for every form, the rest of what
was entered goes through the form's own checks as usual. Files are left as they are: only text
values are touched.

Multipart bodies are parsed with Werkzeug's own reads of 64 KiB. Reading 256 KiB at a time was
tried (eighth session) and measured again under gunicorn in the twelfth: a POST of two 1 MB
files cost its worker 13.0 ms of CPU against 11.4 ms with 64 KiB reads, because each larger read
copies more of gunicorn's read-ahead and every buffer above 128 KiB is fresh memory from the
kernel (bench/README.md, "submit.py").
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict


class WithoutNul(ImmutableMultiDict[str, Any]):
    def __init__(self, mapping: Any = None) -> None:
        pairs = MultiDict(mapping).items(multi=True) if mapping is not None else ()
        super().__init__([(key, value.replace("\x00", "") if isinstance(value, str) else value)
                          for key, value in pairs])


class AmtswegRequest(Request):
    parameter_storage_class = WithoutNul
