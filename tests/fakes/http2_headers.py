"""Reads the request headers out of a client's HTTP/2 byte stream (RFC 7540 frames,
RFC 7541 HPACK), so a test proxy sees the gRPC metadata a client sends: no HTTP/2
library (h2, grpcio) is installed here, and the Temporal SDK's client (Rust, hyper's h2)
Huffman-codes every header string and indexes repeated ones, so a byte search would not
find `authorization: Bearer ...` in the stream."""

from collections.abc import Callable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, CONTINUATION = 0x1, 0x9
END_HEADERS, PADDED, PRIORITY = 0x4, 0x8, 0x20

# RFC 7541 Appendix A.
STATIC_TABLE = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
]

# RFC 7541 Appendix B: the code length of each symbol (0-255, then EOS). The code is
# canonical (codes assigned in order of length, then symbol), so lengths alone rebuild it.
HUFFMAN_LENGTHS = [
    13,
    23,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    24,
    30,
    28,
    28,
    30,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    30,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    28,
    6,
    10,
    10,
    12,
    13,
    6,
    8,
    11,
    10,
    10,
    8,
    11,
    8,
    6,
    6,
    6,
    5,
    5,
    5,
    6,
    6,
    6,
    6,
    6,
    6,
    6,
    7,
    8,
    15,
    6,
    12,
    10,
    13,
    6,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    8,
    7,
    8,
    13,
    19,
    13,
    14,
    6,
    15,
    5,
    6,
    5,
    6,
    5,
    6,
    6,
    6,
    5,
    7,
    7,
    6,
    6,
    6,
    5,
    6,
    7,
    6,
    5,
    5,
    6,
    7,
    7,
    7,
    7,
    7,
    15,
    11,
    14,
    13,
    28,
    20,
    22,
    20,
    20,
    22,
    22,
    22,
    23,
    22,
    23,
    23,
    23,
    23,
    23,
    24,
    23,
    24,
    24,
    22,
    23,
    24,
    23,
    23,
    23,
    23,
    21,
    22,
    23,
    22,
    23,
    23,
    24,
    22,
    21,
    20,
    22,
    22,
    23,
    23,
    21,
    23,
    22,
    22,
    24,
    21,
    22,
    23,
    23,
    21,
    21,
    22,
    21,
    23,
    22,
    23,
    23,
    20,
    22,
    22,
    22,
    23,
    22,
    22,
    23,
    26,
    26,
    20,
    19,
    22,
    23,
    22,
    25,
    26,
    26,
    26,
    27,
    27,
    26,
    24,
    25,
    19,
    21,
    26,
    27,
    27,
    26,
    27,
    24,
    21,
    21,
    26,
    26,
    28,
    27,
    27,
    27,
    20,
    24,
    20,
    21,
    22,
    21,
    21,
    23,
    22,
    22,
    25,
    25,
    24,
    24,
    26,
    23,
    26,
    27,
    26,
    26,
    27,
    27,
    27,
    27,
    27,
    28,
    27,
    27,
    27,
    27,
    27,
    26,
    30,
]


def _huffman_codes() -> dict[tuple[int, int], int]:
    """(length, code) -> symbol."""
    codes, code, previous = {}, -1, 0
    for symbol in sorted(range(257), key=lambda s: (HUFFMAN_LENGTHS[s], s)):
        length = HUFFMAN_LENGTHS[symbol]
        code = (code + 1) << (length - previous)
        previous = length
        codes[(length, code)] = symbol
    return codes


HUFFMAN = _huffman_codes()


def huffman_decode(data: bytes) -> bytes:
    out, code, length = bytearray(), 0, 0
    for byte in data:
        for shift in range(7, -1, -1):
            code, length = (code << 1) | ((byte >> shift) & 1), length + 1
            symbol = HUFFMAN.get((length, code))
            if symbol is not None:
                out.append(symbol)
                code, length = 0, 0
    return bytes(out)  # what is left (< 8 bits of ones) is padding


class HeaderBlockDecoder:
    """HPACK, with the dynamic table it keeps across the blocks of one connection."""

    def __init__(self, max_size: int = 4096) -> None:
        self.dynamic: list[tuple[str, str]] = []
        self.max_size = max_size

    def _entry(self, index: int) -> tuple[str, str]:
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        return self.dynamic[index - len(STATIC_TABLE) - 1]

    def _add(self, name: str, value: str) -> None:
        self.dynamic.insert(0, (name, value))
        while sum(len(n) + len(v) + 32 for n, v in self.dynamic) > self.max_size:
            self.dynamic.pop()

    @staticmethod
    def _integer(block: bytes, at: int, prefix: int) -> tuple[int, int]:
        value = block[at] & ((1 << prefix) - 1)
        at += 1
        if value < (1 << prefix) - 1:
            return value, at
        shift = 0
        while True:
            value += (block[at] & 0x7F) << shift
            shift += 7
            at += 1
            if not block[at - 1] & 0x80:
                return value, at

    def _string(self, block: bytes, at: int) -> tuple[str, int]:
        huffman = block[at] & 0x80
        length, at = self._integer(block, at, 7)
        raw = block[at : at + length]
        return (huffman_decode(raw) if huffman else raw).decode("latin-1"), at + length

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        fields, at = [], 0
        while at < len(block):
            first = block[at]
            if first & 0x80:  # indexed field
                index, at = self._integer(block, at, 7)
                fields.append(self._entry(index))
                continue
            if first & 0xE0 == 0x20:  # dynamic table size update
                self.max_size, at = self._integer(block, at, 5)
                continue
            indexing = first & 0xC0 == 0x40
            index, at = self._integer(block, at, 6 if indexing else 4)
            if index:
                name = self._entry(index)[0]
            else:
                name, at = self._string(block, at)
            value, at = self._string(block, at)
            if indexing:
                self._add(name, value)
            fields.append((name, value))
        return fields


class RequestHeaders:
    """Fed the client-to-server bytes of one connection, in order; calls `found` with
    each request's headers as a dict."""

    def __init__(self, found: Callable[[dict[str, str]], None]) -> None:
        self.found = found
        self.buffer = b""
        self.preface_seen = False
        self.block = b""
        self.decoder = HeaderBlockDecoder()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if not self.preface_seen:
            if len(self.buffer) < len(PREFACE):
                return
            assert self.buffer.startswith(PREFACE), "not an HTTP/2 client"
            self.buffer, self.preface_seen = self.buffer[len(PREFACE) :], True
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            payload, self.buffer = self.buffer[9 : 9 + length], self.buffer[9 + length :]
            if kind == HEADERS:
                self._headers(payload, flags)
            elif kind == CONTINUATION:
                self.block += payload
                self._end(flags)

    def _headers(self, payload: bytes, flags: int) -> None:
        start, end = 0, len(payload)
        if flags & PADDED:
            start, end = 1, end - payload[0]
        if flags & PRIORITY:
            start += 5
        self.block = payload[start:end]
        self._end(flags)

    def _end(self, flags: int) -> None:
        if flags & END_HEADERS:
            self.found(dict(self.decoder.decode(self.block)))
            self.block = b""
