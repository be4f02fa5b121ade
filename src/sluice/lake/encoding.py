"""Text encodings of uploaded files: detect, check, and transcode to UTF-8 in bounded memory.

Detection: a byte-order mark decides (UTF-8, UTF-16 LE/BE); otherwise UTF-16 without a mark is recognised
by its zero bytes; otherwise the file is read as UTF-8, and if that fails *before any non-ASCII text was
seen*, as GB18030 (a superset of GBK and GB2312). A file that is UTF-8 up to some point and then is not
holds mixed encodings, and so does a GB18030 file with a line that is valid UTF-8 Chinese: either is refused,
with the line and byte where the encodings part, rather than read as mojibake.

A reader that checks UTF-8 itself (DuckDB's CSV reader refuses every invalid sequence, overlong forms and
surrogates included) can ask for ``reader_checks_utf8``: then a file whose first mebibyte is UTF-8 is handed
over unread beyond that (``Decoded.verified`` is False), and only if the reader then finds a bad sequence is
the whole check run, to say where or to find the file is GB18030 after an ASCII start. Checking UTF-8 in
Python costs about half a second per 100 MB of Chinese text; the reader does it while it parses.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sluice.errors import Invalid

CHUNK = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
SUPPORTED = ("utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "utf-16", "utf-16-le", "utf-16-be")


@dataclass(frozen=True)
class Decoded:
    """A text file as DuckDB will read it: UTF-8, possibly a transcoded copy of the upload."""

    path: Path
    encoding: str  # what the upload was in
    transcoded: bool
    verified: bool = True  # every byte was checked here; False: the reader must check UTF-8 itself
    # A check left to the caller (``defer_mixing_check``): it raises if the upload mixes encodings, and must
    # be run before the decoded text is used.
    mixing_check: Callable[[], None] | None = None


@dataclass(frozen=True)
class DecodeFailure:
    byte: int  # offset of the first undecodable byte, from 0
    line: int  # its line, from 1
    ascii_before: bool  # only ASCII text before it


def detect_and_decode(
    source: Path,
    work_dir: Path,
    declared: str | None = None,
    *,
    reader_checks_utf8: bool = False,
    defer_mixing_check: bool = False,
) -> Decoded:
    """Return a UTF-8 version of ``source`` (itself when it already is one); refuse undecodable files.
    ``reader_checks_utf8``: the caller's reader refuses invalid UTF-8 itself, so a file that starts as UTF-8
    need not be read through here (see the module's note). ``defer_mixing_check``: a file found to be GB18030
    is returned before the search for UTF-8 lines in it (as long again as the transcoding), as
    ``Decoded.mixing_check``, for the caller to run while its reader, which does not need the interpreter,
    reads the transcoded copy."""
    if declared:
        encoding = _normalise(declared)
        if reader_checks_utf8 and encoding in ("utf-8", "utf-8-sig"):
            return _utf8_if_head_is(source, encoding) or _as_utf8(source, work_dir, encoding)
        return _as_utf8(source, work_dir, encoding)
    head = _head(source)
    if head.startswith(UTF8_BOM):
        if reader_checks_utf8:
            return _utf8_if_head_is(source, "utf-8-sig") or _as_utf8(source, work_dir, "utf-8-sig")
        return _as_utf8(source, work_dir, "utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _as_utf8(source, work_dir, "utf-16")
    bare_utf16 = _bare_utf16(head)
    if bare_utf16:
        return _as_utf8(source, work_dir, bare_utf16)
    if reader_checks_utf8 and (handed_over := _utf8_if_head_is(source, "utf-8")) is not None:
        return handed_over
    failure = first_failure(source, "utf-8")
    if failure is None:
        return Decoded(source, "utf-8", transcoded=False)
    if not failure.ascii_before:
        raise Invalid(
            f"the file mixes encodings: it is UTF-8 up to line {failure.line}, byte {failure.byte}, and not after; "
            "save it again in one encoding (UTF-8 is best)",
            line=failure.line,
            byte=failure.byte,
            encoding="utf-8",
        )
    try:
        decoded = _as_utf8(source, work_dir, "gb18030")
    except Invalid as gb:
        raise Invalid(
            f"the file is neither UTF-8 (bad byte at line {failure.line}, byte {failure.byte}) nor GB18030/GBK (bad "
            f"byte at line {gb.detail['line']}, byte {gb.detail['byte']}); save it as UTF-8, or name its encoding",
            line=failure.line,
            byte=failure.byte,
        ) from None
    if defer_mixing_check:
        return replace(decoded, mixing_check=functools.partial(refuse_utf8_lines, source))
    refuse_utf8_lines(source)
    return decoded


def refuse_utf8_lines(source: Path) -> None:
    """Refuse a GB18030 file holding a line of UTF-8 Chinese (which GB18030 reads as mojibake without
    complaint)."""
    utf8 = first_utf8_line(source)
    if utf8 is not None:
        raise Invalid(
            f"the file mixes encodings: it is GB18030/GBK, but line {utf8.line} (byte {utf8.byte}) is UTF-8; save it "
            "again in one encoding (UTF-8 is best)",
            line=utf8.line,
            byte=utf8.byte,
            encoding="gb18030",
        )


def _utf8_if_head_is(source: Path, encoding: str) -> Decoded | None:
    """The file as it is, unchecked beyond its first ``CHUNK`` bytes, if those are ``encoding`` (a UTF-8);
    checked whole (``verified``) when the file is no longer than that. None if the head is not UTF-8."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with source.open("rb") as handle:
        head = handle.read(CHUNK)
        whole = not handle.read(1)
    try:
        decoder.decode(head, final=whole)  # a character cut at the end of a longer file's head is not an error
    except UnicodeDecodeError:
        return None
    return Decoded(source, encoding, transcoded=False, verified=whole)


def first_failure(source: Path, encoding: str) -> DecodeFailure | None:
    """Where ``source`` stops being valid ``encoding`` (streamed, constant memory); None if it never does."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    lines = 1
    ascii_so_far = True
    with source.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder may hold back bytes of an earlier chunk; exc.start counts within its buffer.
                held = len(exc.object) - len(chunk)
                bad = offset - held + exc.start
                before = exc.object[: exc.start]
                return DecodeFailure(
                    byte=bad,
                    line=lines + before.count(b"\n"),
                    ascii_before=ascii_so_far and before.isascii(),
                )
            lines += chunk.count(b"\n")
            ascii_so_far = ascii_so_far and chunk.isascii()
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return DecodeFailure(byte=offset, line=lines, ascii_before=ascii_so_far)
    return None


def first_utf8_line(source: Path) -> DecodeFailure | None:
    """The first line of a GB18030 file that is valid UTF-8 holding text beyond Latin (Chinese, say): a UTF-8
    line in a GBK file. Chinese text in one of the two encodings is practically never valid in the other.

    Each chunk (cut at a line end) is decoded as UTF-8 with replacement characters in C; a GBK line then
    holds a U+FFFD and is passed over at once, so only lines that decoded cleanly are looked at."""
    lines = 1
    offset = 0
    with source.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if not chunk.endswith(b"\n"):
                chunk += handle.readline()  # finish the last line, so no line is split between chunks
            for index, line in enumerate(chunk.decode("utf-8", "replace").split("\n")):
                if line.isascii() or "\ufffd" in line or not any(c >= "\u0800" for c in line):
                    continue
                before = b"\n".join(chunk.split(b"\n")[:index])
                start = len(before) + (1 if index else 0)
                first = next(i for i in range(start, len(chunk)) if chunk[i] >= 0x80)
                return DecodeFailure(byte=offset + first, line=lines + index, ascii_before=False)
            lines += chunk.count(b"\n")
            offset += len(chunk)
    return None


def _as_utf8(source: Path, work_dir: Path, encoding: str) -> Decoded:
    if encoding in ("utf-8", "utf-8-sig"):
        failure = first_failure(source, encoding)
        if failure is None:
            return Decoded(source, encoding, transcoded=False)  # DuckDB skips a UTF-8 BOM itself
        raise _undecodable(encoding, failure)
    target = work_dir / "decoded.txt"
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    lines = 1
    with source.open("rb") as handle, target.open("wb") as out:
        while chunk := handle.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                held = len(exc.object) - len(chunk)
                before = exc.object[: exc.start]
                failure = DecodeFailure(offset - held + exc.start, lines + before.count(b"\n"), False)
                raise _undecodable(encoding, failure) from None
            out.write(text.removeprefix("\ufeff").encode("utf-8") if offset == 0 else text.encode("utf-8"))
            lines += chunk.count(b"\n") if not encoding.startswith("utf-16") else text.count("\n")
            offset += len(chunk)
        try:
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError:
            raise _undecodable(encoding, DecodeFailure(offset, lines, False)) from None
    return Decoded(target, encoding, transcoded=True)


def _undecodable(encoding: str, failure: DecodeFailure) -> Invalid:
    return Invalid(
        f"the file is not valid {encoding}: bad byte sequence at line {failure.line}, byte {failure.byte}; "
        "save it again in that encoding, or name the right one",
        line=failure.line,
        byte=failure.byte,
        encoding=encoding,
    )


def _normalise(declared: str) -> str:
    name = declared.strip().lower().replace("_", "-")
    name = {"utf8": "utf-8", "utf16": "utf-16", "gb-18030": "gb18030", "cp936": "gbk"}.get(name, name)
    if name not in SUPPORTED:
        raise Invalid(
            f"unsupported encoding {declared!r}: use one of {', '.join(SUPPORTED)}", field="encoding", value=declared
        )
    return name


def _head(source: Path, size: int = 4096) -> bytes:
    with source.open("rb") as handle:
        return handle.read(size)


def _bare_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text puts a zero byte in every other position."""
    if len(head) < 4:
        return None
    even = head[0::2]
    odd = head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None
