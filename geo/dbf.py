"""Guessing the text encoding of a Shapefile's ``.dbf`` when no ``.cpg`` says it.

Older Chilean shapefiles are often Latin-1 (ISO-8859-1) without a ``.cpg``,
newer ones UTF-8. GDAL assumes ISO-8859-1 when neither the ``.cpg`` nor the
DBF language byte says otherwise, which turns UTF-8 accents into mojibake
(``PoblaciÃ³n``). :func:`guess_encoding` reads the character fields of the
DBF itself: when every non-ASCII value decodes as UTF-8 the file is UTF-8,
otherwise ISO-8859-1 (every byte is a valid Latin-1 character). UTF-8 is
self-checking, so Latin-1 text with accents practically never decodes as UTF-8.

The DBF layout (dBASE III): a 32-byte header (record count at byte 4,
little-endian uint32; header length at 8 and record length at 10, uint16),
32-byte field descriptors up to a ``0x0D`` byte (name, type at 11, length at
16), then fixed-length records each starting with a deletion flag byte.
"""

from __future__ import annotations

import os
import struct

#: Encodings :func:`guess_encoding` returns (names GDAL's recoder knows).
UTF8, LATIN1 = "UTF-8", "ISO-8859-1"


def _char_fields(data: bytes) -> tuple[list[tuple[int, int]], int, int, int] | None:
    """(offset, length) of the character fields, header length, record length, count."""
    if len(data) < 33:
        return None
    count, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields = []
    offset = 1  # deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(data)) and data[pos] != 0x0D:
        ftype = chr(data[pos + 11])
        length = data[pos + 16]
        if ftype == "C":
            fields.append((offset, length))
        offset += length
        pos += 32
    return fields, header_len, record_len, count


def guess_encoding(path: str | os.PathLike, max_records: int = 100_000) -> str | None:
    """Encoding of the text in a ``.dbf``: :data:`UTF8`, :data:`LATIN1` or ``None``.

    Parameters
    ----------
    path : path-like
        The ``.dbf`` file.
    max_records : int
        Records inspected at most (from the start).

    Returns
    -------
    str or None
        ``None`` when the text is pure ASCII (any encoding reads it) or the file
        cannot be parsed as a DBF (GDAL will then report the problem).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    parsed = _char_fields(data)
    if parsed is None:
        return None
    fields, header_len, record_len, count = parsed
    if not fields or record_len <= 0:
        return None
    seen_non_ascii = False
    for i in range(min(count, max_records)):
        start = header_len + i * record_len
        record = data[start:start + record_len]
        if len(record) < record_len:
            break
        for offset, length in fields:
            raw = record[offset:offset + length].rstrip(b" \x00")
            if raw.isascii():
                continue
            seen_non_ascii = True
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                # A multi-byte character cut by the field width still counts as UTF-8.
                if exc.start < len(raw) - 3 or exc.reason != "unexpected end of data":
                    return LATIN1
    return UTF8 if seen_non_ascii else None
