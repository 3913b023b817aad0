"""The TLS proxy's reader of request headers (tests/fakes/http2_headers.py) against
RFC 7541's own examples, so a header the e2e TLS test looks for (`authorization`) is
found because it was sent, not because the reader guessed."""

from tests.fakes.http2_headers import PREFACE, HeaderBlockDecoder, RequestHeaders, huffman_decode


def test_huffman_strings_decode_as_in_rfc_7541_appendix_c_4():
    assert huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    assert huffman_decode(bytes.fromhex("a8eb10649cbf")) == b"no-cache"


def test_header_blocks_share_the_dynamic_table_as_in_rfc_7541_appendix_c_4():
    decoder = HeaderBlockDecoder()
    assert decoder.decode(bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")) == [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ]
    # 0xbe: the entry the first block added to the dynamic table.
    assert decoder.decode(bytes.fromhex("828684be5886a8eb10649cbf"))[3:] == [
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ]


def test_request_headers_are_read_from_frames_split_anywhere():
    block = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")
    # A HEADERS frame without END_HEADERS, then a CONTINUATION frame that ends it.
    stream = (
        PREFACE
        + len(block[:5]).to_bytes(3, "big")
        + b"\x01\x00"
        + b"\x00\x00\x00\x01"
        + block[:5]
        + len(block[5:]).to_bytes(3, "big")
        + b"\x09\x04"
        + b"\x00\x00\x00\x01"
        + block[5:]
    )
    found = []
    reader = RequestHeaders(found.append)
    for at in range(0, len(stream), 7):
        reader.feed(stream[at : at + 7])
    assert found == [
        {":method": "GET", ":scheme": "http", ":path": "/", ":authority": "www.example.com"}
    ]
