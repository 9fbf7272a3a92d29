"""A minimal DER writer and TLV reader.

Only what the loopback services need: the RFC 3161 response (CMS SignedData around a TSTInfo), Fulcio's
UTF8String extension values, the embedded SCT list, and cutting the CT poison extension out of a
precertificate's TBSCertificate. `cryptography` cannot build any of these, and pulling in a full ASN.1
library for a handful of structures would cost more than these few lines.
"""

from __future__ import annotations

from datetime import datetime, timezone

# Universal tags (X.690 8.1.2).
BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
SEQUENCE = 0x30
SET = 0x31
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    """Encode one DER element from its (single-byte) tag and content octets."""
    return bytes([tag]) + _length(len(content)) + content


def sequence(*items: bytes) -> bytes:
    """SEQUENCE of already-encoded elements, in order."""
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """SET OF already-encoded elements; DER requires them sorted by their encodings (X.690 11.6)."""
    return tlv(SET, b"".join(sorted(items)))


def integer(value: int) -> bytes:
    """INTEGER, two's complement, minimal length."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    """OCTET STRING."""
    return tlv(OCTET_STRING, value)


def utf8_string(value: str) -> bytes:
    """UTF8String."""
    return tlv(UTF8_STRING, value.encode("utf-8"))


def null() -> bytes:
    """NULL."""
    return tlv(NULL, b"")


def boolean(value: bool) -> bytes:
    """BOOLEAN (DER: true is 0xFF)."""
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime in UTC with whole seconds, the DER form (X.690 11.7)."""
    return tlv(GENERALIZED_TIME, moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ").encode())


def utc_time(moment: datetime) -> bytes:
    """UTCTime (two-digit year), as RFC 5652 signingTime uses for dates before 2050."""
    return tlv(UTC_TIME, moment.astimezone(timezone.utc).strftime("%y%m%d%H%M%SZ").encode())


def explicit(number: int, inner: bytes) -> bytes:
    """[number] EXPLICIT, constructed context-specific tag around one element."""
    return tlv(0xA0 | number, inner)


def implicit_constructed(number: int, element: bytes) -> bytes:
    """[number] IMPLICIT over a constructed element (SET/SEQUENCE): keep the content, swap the tag."""
    _, header, _ = read_header(element, 0)
    return tlv(0xA0 | number, element[header:])


def read_header(data: bytes, offset: int) -> tuple[int, int, int]:
    """Read the tag, header size and content length of the element starting at `offset`."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        return tag, 2, first
    count = first & 0x7F
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return tag, 2 + count, length


def children(content: bytes) -> list[bytes]:
    """Split the content octets of a constructed element into its encoded children."""
    items: list[bytes] = []
    offset = 0
    while offset < len(content):
        _, header, length = read_header(content, offset)
        items.append(content[offset : offset + header + length])
        offset += header + length
    return items


def content_of(element: bytes) -> bytes:
    """The content octets of one encoded element."""
    _, header, length = read_header(element, 0)
    return element[header : header + length]
