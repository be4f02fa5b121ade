"""Receiving a multipart upload as a stream: the file part goes straight to disk, in bounded memory, and the
upload stops with 413 as soon as it passes the size limit (nothing of it is kept).

Starlette's own form parser would spool the file to the system's temporary folder first and only then let
us look at its size; this writes it where the ingestion will read it and counts as it goes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from sluice.errors import Invalid, SluiceError, TooLarge

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELD_LIMIT = 64 * 1024  # a non-file form field (options, mapping) is small
FILE_FIELD = "file"


@dataclass
class Upload:
    path: Path
    filename: str
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    buffer: bytearray = field(default_factory=bytearray)


class _Receiver:
    """The multipart parser's callbacks: file bytes to ``sink`` (counted), small fields to memory."""

    def __init__(self, upload: Upload, sink: BinaryIO, limit: int) -> None:
        self.upload, self.sink, self.limit = upload, sink, limit
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.failure: SluiceError | None = None
        self.ended = False  # the closing boundary was seen (the parser does not check it itself)

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        self.part.filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        if self.part.name == FILE_FIELD:
            if self.upload.filename:
                self.failure = Invalid('the upload has more than one part named "file"; send one file per version')
            self.upload.filename = Path(self.part.filename or "upload").name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.failure is not None:
            return
        if self.part.name == FILE_FIELD:
            self.upload.size += len(chunk)
            if self.upload.size > self.limit:
                self.failure = TooLarge(f"the file is over the limit of {self.limit} bytes; split it", limit=self.limit)
                return
            self.sink.write(chunk)
            return
        self.part.buffer += chunk
        if len(self.part.buffer) > FIELD_LIMIT:
            self.failure = Invalid(f"the form field {self.part.name!r} is too long", field=self.part.name)

    def on_part_end(self) -> None:
        if self.part.name and self.part.name != FILE_FIELD:
            self.upload.fields[self.part.name] = self.part.buffer.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True


async def receive_upload(request: Request, folder: Path, limit: int) -> Upload:
    """Stream the request's multipart body; the part named ``file`` is written to a new file in ``folder``."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise Invalid('send the file as multipart/form-data, in a part named "file" (curl -F file=@data.csv)')
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FIELD_LIMIT:
        raise TooLarge(f"the upload is {declared} bytes, over the limit of {limit}", limit=limit)
    folder.mkdir(parents=True, exist_ok=True)
    upload = Upload(path=folder / f"upload-{uuid.uuid4().hex}", filename="")
    try:
        with upload.path.open("wb") as sink:
            receiver = _Receiver(upload, sink, limit)
            parser = MultipartParser(params[b"boundary"], cast("MultipartCallbacks", receiver.callbacks()))
            async for chunk in request.stream():
                parser.write(chunk)
                if receiver.failure is not None:
                    raise receiver.failure
            parser.finalize()
            if not receiver.ended:  # a truncated body must not be ingested as if it were the whole file
                raise Invalid("the multipart body is malformed: it ends before its closing boundary")
    except SluiceError:
        upload.path.unlink(missing_ok=True)
        raise
    except Exception as exc:  # the multipart parser's own errors: a malformed body
        upload.path.unlink(missing_ok=True)
        raise Invalid(f"the multipart body is malformed: {exc}") from None
    if not upload.filename:
        upload.path.unlink(missing_ok=True)
        raise Invalid('the upload has no part named "file"; send it as -F file=@data.csv')
    return upload
