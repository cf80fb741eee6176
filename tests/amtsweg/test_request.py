"""The app's request class reads multipart bodies in 256 KiB pieces and still hands every file
and field over byte for byte, also when a boundary falls across two reads."""

from __future__ import annotations

import io
import os

import pytest
from flask import Flask, request

from amtsweg.request import MULTIPART_READ_SIZE

BOUNDARY = "amtsweg-test-boundary-7f3a"


class RecordingStream(io.BytesIO):
    """The body as the server hands it over, remembering how much each read asked for."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)

    def readinto(self, buffer: object) -> int:
        self.asked.append(len(memoryview(buffer)))  # type: ignore[arg-type]
        return super().readinto(buffer)  # type: ignore[arg-type]


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts += [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
              f'filename="{name}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
              + content + b"\r\n" for name, content in files.items()]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _parse(app: Flask, body: bytes) -> tuple[RecordingStream, dict[str, str], dict[str, bytes]]:
    stream = RecordingStream(body)
    with app.test_request_context(
            "/", method="POST", input_stream=stream,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            content_length=len(body)):
        fields = request.form.to_dict()
        files = {name: upload.read() for name, upload in request.files.items()}
    return stream, fields, files


def test_a_body_of_two_files_is_read_in_large_pieces_and_arrives_whole(app: Flask) -> None:
    # Line breaks and boundary-like bytes inside the files, which must not end them early.
    first = os.urandom(700_000) + b"\r\n--amtsweg-test-boundar" + os.urandom(350_000)
    second = b"\r\n" * 200_000 + os.urandom(300_000)
    body = _multipart({"csrf_token": "token", "action": "continue"},
                      {"file_a": first, "file_b": second})
    stream, fields, files = _parse(app, body)
    assert fields == {"csrf_token": "token", "action": "continue"}
    assert files == {"file_a": first, "file_b": second}
    assert max(stream.asked) == MULTIPART_READ_SIZE
    # About body ÷ 256 KiB reads, not four times as many of 64 KiB.
    assert len(stream.asked) <= len(body) // MULTIPART_READ_SIZE + 3


@pytest.mark.parametrize("cut", [1, 2, 7, 40])
def test_a_boundary_split_between_two_reads_still_ends_the_file(app: Flask, cut: int) -> None:
    # The first file ends so that the boundary after it is cut ``cut`` bytes into it.
    opening = _multipart({}, {"file_a": b""}).split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    content = b"%PDF-1.7\n" + b"x" * (MULTIPART_READ_SIZE - len(opening) - 9 - 2 + cut)
    body = _multipart({}, {"file_a": content, "file_b": b"%PDF-1.7\nsecond\n"})
    _stream, _fields, files = _parse(app, body)
    assert files == {"file_a": content, "file_b": b"%PDF-1.7\nsecond\n"}


def test_a_multipart_body_without_a_boundary_gives_an_empty_form(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data=b"csrf_token=x",
                                  content_type="multipart/form-data"):
        assert request.form.to_dict() == {}
        assert request.files.to_dict() == {}
