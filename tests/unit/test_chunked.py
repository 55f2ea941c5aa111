"""auth/sigv4/chunked.py: aws-chunked bodies decoded and verified in memory.

The signed examples are AWS's own ("Signature Calculations for the
Authorization Header: Transferring Payload in Multiple Chunks" and
"…: Including Trailing Headers", S3 API Reference; values as recorded in
the project's shared ``vectors/sigv4.md``). The unsigned bodies are made by
botocore's own ``AwsChunkedWrapper``, the code boto3 sends them with.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4 import chunked, keys
from sealbox.auth.sigv4.chunked import (
    MODES,
    SIGNED,
    SIGNED_TRAILER,
    UNSIGNED_TRAILER,
    ChunkedDecoder,
    ChunkSigning,
    Data,
    End,
    Trailer,
)
from sealbox.auth.sigv4.verify import verify_header
from sealbox.errors import S3Error

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SIGNING_KEY = "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"

# "Example: PUT Object" of the multiple-chunks page: 66560 bytes of "a" in
# chunks of 65536 and 1024, then the empty final chunk.
EXAMPLE_HEADERS = {
    "content-encoding": "aws-chunked",
    "content-length": "66824",
    "host": "s3.amazonaws.com",
    "x-amz-content-sha256": SIGNED,
    "x-amz-date": DATE,
    "x-amz-decoded-content-length": "66560",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
}
EXAMPLE_SIGNED_HEADERS = ";".join(sorted(EXAMPLE_HEADERS))
EXAMPLE_CANONICAL_SHA256 = "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_VECTORS = [  # (chunk data, signature) in order
    (b"a" * 65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (b"a" * 1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (b"", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]
# The trailer example: previous signature, trailer, trailer signature.
TRAILER_PREVIOUS = "e05ab64fe1dfdbf0b5870abbaabdb063c371d4e96f2767e6934d90529c5ae850"
TRAILER_VECTOR = ("x-amz-checksum-crc32c", "wdBDMA==")
TRAILER_SIGNATURE = "41e14ac611e27a8bb3d66c3bad6856f209297767d5dd4fc87d8fa9e422e03faf"

SIGNING = ChunkSigning(bytes.fromhex(SIGNING_KEY), DATE, SCOPE, SEED)
MALFORMED_TRAILER = "MalformedTrailerError"


def example_body() -> bytes:
    return b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(data), sig.encode(), data)
                    for data, sig in CHUNK_VECTORS)


def signed_body(chunks: list[bytes], signing: ChunkSigning = SIGNING,
                trailers: list[tuple[str, str]] | None = None) -> bytes:
    """An aws-chunked body signed the way the AWS examples sign one."""
    out, previous = [], signing.seed
    for data in [*chunks, b""]:
        previous = signing.chunk_signature(previous, hashlib.sha256(data).hexdigest())
        out.append(b"%x;chunk-signature=%s\r\n" % (len(data), previous.encode()))
        if data or trailers is None:
            out.append(data + b"\r\n")
    if trailers is not None:
        out += [f"{name}:{value}\r\n".encode() for name, value in trailers]
        signature = signing.trailer_signature(previous, trailers)
        out.append(f"x-amz-trailer-signature:{signature}\r\n\r\n".encode())
    return b"".join(out)


def botocore_body(data: bytes, chunk_size: int = 8192, checksum: bool = True) -> bytes:
    wrapper = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum if checksum else None,
                                checksum_name="x-amz-checksum-crc32", chunk_size=chunk_size)
    return wrapper.read()


def decode(body: bytes, decoder: ChunkedDecoder, step: int | None = None) -> list[object]:
    step = step or len(body) or 1
    events: list[object] = []
    for i in range(0, len(body), step):
        events += decoder.feed(body[i:i + step])
    events += decoder.end_of_body()
    return events


def payload(events: list[object]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Data))


def example_decoder(**overrides: object) -> ChunkedDecoder:
    options: dict[str, object] = {"signing": SIGNING}
    options.update(overrides)
    return ChunkedDecoder(MODES[SIGNED], 66560, **options)  # type: ignore[arg-type]


# --- AWS's examples -------------------------------------------------------------------


def test_aws_example_seed_signature_verifies_as_the_request_signature() -> None:
    authorization = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{SCOPE},"
                     f"SignedHeaders={EXAMPLE_SIGNED_HEADERS},Signature={SEED}")
    facts = RequestFacts("PUT", "/examplebucket/chunkObject.txt", "",
                         {**EXAMPLE_HEADERS, "authorization": authorization})
    credential = Credential(ACCESS_KEY, SECRET_KEY, root_principal(ACCESS_KEY))
    auth = verify_header(facts, {ACCESS_KEY: credential}.get,
                         datetime(2013, 5, 24, tzinfo=UTC), "us-east-1")
    assert auth.payload_hash == SIGNED
    assert (auth.signature, auth.scope) == (SEED, SCOPE)
    assert auth.signing_key == bytes.fromhex(SIGNING_KEY)


def test_aws_example_canonical_request_digest() -> None:
    canonical = "\n".join([
        "PUT", "/examplebucket/chunkObject.txt", "",
        *(f"{name}:{EXAMPLE_HEADERS[name]}" for name in sorted(EXAMPLE_HEADERS)), "",
        EXAMPLE_SIGNED_HEADERS, SIGNED,
    ])
    assert hashlib.sha256(canonical.encode()).hexdigest() == EXAMPLE_CANONICAL_SHA256


def test_signing_key_of_the_examples() -> None:
    assert keys.signing_key(SECRET_KEY, "20130524", "us-east-1").hex() == SIGNING_KEY


@pytest.mark.parametrize("index", range(len(CHUNK_VECTORS)))
def test_chunk_signature_matches_aws_example(index: int) -> None:
    previous = SEED if index == 0 else CHUNK_VECTORS[index - 1][1]
    data, expected = CHUNK_VECTORS[index]
    assert SIGNING.chunk_signature(previous, hashlib.sha256(data).hexdigest()) == expected


def test_trailer_signature_matches_aws_example() -> None:
    assert SIGNING.trailer_signature(TRAILER_PREVIOUS, [TRAILER_VECTOR]) == TRAILER_SIGNATURE


def test_aws_example_body_is_66824_bytes_as_its_content_length() -> None:
    assert len(example_body()) == int(EXAMPLE_HEADERS["content-length"])


@pytest.mark.parametrize("step", [None, 1, 2, 3, 7, 100, 8191, 65536, 65537])
def test_aws_example_body_decodes_in_any_pieces(step: int | None) -> None:
    decoder = example_decoder()
    events = decode(example_body(), decoder, step)
    assert payload(events) == b"a" * 66560
    assert events[-1] == End()
    assert decoder.done and decoder.decoded == 66560


# --- the three forms ------------------------------------------------------------------


def test_signed_trailer_body_yields_its_verified_trailer() -> None:
    data = b"x" * 20000
    body = signed_body([data[:10000], data[10000:]], trailers=[TRAILER_VECTOR])
    decoder = ChunkedDecoder(MODES[SIGNED_TRAILER], len(data), signing=SIGNING,
                             trailers=(TRAILER_VECTOR[0],))
    events = decode(body, decoder, 333)
    assert payload(events) == data
    assert events[-2:] == [Trailer(*TRAILER_VECTOR), End()]


@pytest.mark.parametrize("size", [0, 1, 8191, 8192, 100_000])
def test_unsigned_trailer_body_as_botocore_sends_it(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], size, trailers=("x-amz-checksum-crc32",))
    events = decode(botocore_body(data), decoder, 4096)
    assert payload(events) == data
    crc = Crc32Checksum()
    crc.update(data)
    assert events[-2:] == [Trailer("x-amz-checksum-crc32", crc.b64digest()), End()]


def test_unsigned_body_ending_at_zero_chunk_without_trailers_is_complete() -> None:
    # The JavaScript SDK ends a body without a checksum with "0\r\n" alone.
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 3)
    assert payload(decode(b"3\r\nabc\r\n0\r\n", decoder)) == b"abc"
    assert decoder.done


def test_unsigned_chunk_extensions_are_ignored() -> None:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 3)
    assert payload(decode(b"3;name=value\r\nabc\r\n0\r\n\r\n", decoder)) == b"abc"


def test_data_is_handed_on_before_its_chunk_has_all_arrived() -> None:
    decoder = example_decoder()
    body = example_body()
    header_end = body.index(b"\r\n") + 2
    events = decoder.feed(body[:header_end + 1000])
    assert events == [Data(b"a" * 1000)]
    # A pure-data piece comes back as one event of the same bytes.
    piece = body[header_end + 1000:header_end + 1000 + 65536 - 1000]
    assert decoder.feed(piece) == [Data(piece)]


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8), st.integers(1, 97),
       st.booleans())
@settings(max_examples=150, deadline=None)
def test_any_chunking_and_any_split_decode_to_the_payload(chunks: list[bytes], step: int,
                                                          with_trailer: bool) -> None:
    data = b"".join(chunks)
    trailers = [("x-amz-checksum-sha256", "x" * 44)] if with_trailer else None
    mode = MODES[SIGNED_TRAILER if with_trailer else SIGNED]
    decoder = ChunkedDecoder(mode, len(data), signing=SIGNING,
                             trailers=("x-amz-checksum-sha256",) if with_trailer else ())
    events = decode(signed_body(chunks, trailers=trailers), decoder, step)
    assert payload(events) == data
    assert events[-1] == End()


# --- forged and mis-signed --------------------------------------------------------------


def flip(body: bytes, old: bytes, new: bytes) -> bytes:
    assert old in body
    return body.replace(old, new, 1)


@pytest.mark.parametrize("index", range(len(CHUNK_VECTORS)))
def test_forged_chunk_signature_is_signature_does_not_match(index: int) -> None:
    signature = CHUNK_VECTORS[index][1].encode()
    forged = signature[:-1] + (b"0" if signature[-1:] != b"0" else b"1")
    with pytest.raises(S3Error) as raised:
        decode(flip(example_body(), signature, forged), example_decoder())
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.status == 403


def test_changed_chunk_data_is_signature_does_not_match() -> None:
    body = example_body()
    tampered = body[:200] + b"b" + body[201:]
    with pytest.raises(S3Error) as raised:
        decode(tampered, example_decoder())
    assert raised.value.code == "SignatureDoesNotMatch"


def test_chunks_signed_with_another_seed_do_not_verify() -> None:
    other = ChunkSigning(SIGNING.key, DATE, SCOPE, "0" * 64)
    with pytest.raises(S3Error) as raised:
        decode(signed_body([b"abc"], signing=other), ChunkedDecoder(MODES[SIGNED], 3,
                                                                   signing=SIGNING))
    assert raised.value.code == "SignatureDoesNotMatch"


def test_chunks_reordered_do_not_verify() -> None:
    first, second = b"a" * 10, b"b" * 10
    body = signed_body([first, second])
    parts = body.split(b"\r\n")
    swapped = b"\r\n".join([parts[2], parts[3], parts[0], parts[1], *parts[4:]])
    with pytest.raises(S3Error) as raised:
        decode(swapped, ChunkedDecoder(MODES[SIGNED], 20, signing=SIGNING))
    assert raised.value.code == "SignatureDoesNotMatch"


def test_forged_trailer_value_is_signature_does_not_match() -> None:
    body = signed_body([b"abc"], trailers=[TRAILER_VECTOR])
    forged = flip(body, b"wdBDMA==", b"AAAAAA==")
    decoder = ChunkedDecoder(MODES[SIGNED_TRAILER], 3, signing=SIGNING,
                             trailers=(TRAILER_VECTOR[0],))
    with pytest.raises(S3Error) as raised:
        decode(forged, decoder)
    assert raised.value.code == "SignatureDoesNotMatch"


def test_signed_trailer_without_its_signature_is_malformed_trailer() -> None:
    body = signed_body([b"abc"], trailers=[TRAILER_VECTOR])
    cut = body[:body.index(b"x-amz-trailer-signature")] + b"\r\n"
    decoder = ChunkedDecoder(MODES[SIGNED_TRAILER], 3, signing=SIGNING,
                             trailers=(TRAILER_VECTOR[0],))
    with pytest.raises(S3Error) as raised:
        decode(cut, decoder)
    assert raised.value.code == MALFORMED_TRAILER


# --- truncated, mis-framed, oversized ---------------------------------------------------


@pytest.mark.parametrize("cut", [0, 1, 10, 86, 87, 88, 5000, 65622, 65623, 65624, 66000, 66700,
                                 66822, 66823])
def test_truncated_body_is_incomplete_body(cut: int) -> None:
    with pytest.raises(S3Error) as raised:
        decode(example_body()[:cut], example_decoder())
    assert raised.value.code == "IncompleteBody"
    assert raised.value.message == chunked.TERMINATED


@pytest.mark.parametrize(("old", "new"), [
    (b"10000;", b"1000g;"),  # not hex
    (b"10000;", b";"),  # no size
    (b"10000;", b"10000 ;"),  # space before the extension
    (b"10000;", b"00000000000000010000;"),  # more than 16 digits
    (b";chunk-signature=ad80", b";chunk-signatura=ad80"),
    (b";chunk-signature=ad80", b";chunk-signature=ad8"),  # 63 hex digits
    (b"a" * 65536 + b"\r\n", b"a" * 65536 + b"\n\r"),  # no CRLF after the data
    (b"8648\r\n", b"8648\n"),  # a bare LF ends the size line
])
def test_mis_framed_signed_body_is_incomplete_body(old: bytes, new: bytes) -> None:
    with pytest.raises(S3Error) as raised:
        decode(flip(example_body(), old, new), example_decoder())
    assert raised.value.code == "IncompleteBody"


def test_signed_size_line_without_signature_is_incomplete_body() -> None:
    with pytest.raises(S3Error) as raised:
        decode(b"3\r\nabc\r\n", ChunkedDecoder(MODES[SIGNED], 3, signing=SIGNING))
    assert raised.value.code == "IncompleteBody"


def test_endless_size_line_is_refused_without_buffering_it() -> None:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 10)
    with pytest.raises(S3Error) as raised:
        for _ in range(100):
            decoder.feed(b"0" * 1000)
    assert raised.value.code == "IncompleteBody"


def test_payload_longer_than_decoded_length_is_refused_at_its_chunk_header() -> None:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 10)
    with pytest.raises(S3Error) as raised:
        decoder.feed(b"100000\r\n")  # refused before any of its data arrives
    assert raised.value.code == "IncompleteBody"


def test_payload_shorter_than_decoded_length_is_incomplete_body() -> None:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 10)
    with pytest.raises(S3Error) as raised:
        decode(b"3\r\nabc\r\n0\r\n\r\n", decoder)
    assert raised.value.code == "IncompleteBody"
    assert raised.value.fields == {"NumberBytesExpected": "10", "NumberBytesProvided": "3"}


def test_bytes_after_the_final_chunk_are_refused() -> None:
    with pytest.raises(S3Error) as raised:
        decode(example_body() + b"more", example_decoder())
    assert raised.value.code == "IncompleteBody"


# --- trailers ---------------------------------------------------------------------------


def unsigned(trailers: tuple[str, ...], tail: bytes) -> ChunkedDecoder:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 3, trailers=trailers)
    decode(b"3\r\nabc\r\n0\r\n" + tail, decoder)
    return decoder


@pytest.mark.parametrize(("announced", "tail"), [
    (("x-amz-checksum-crc32",), b"\r\n"),  # announced, never sent
    (("x-amz-checksum-crc32",), b""),  # announced, body ends
    ((), b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"),  # sent, never announced
    (("x-amz-checksum-crc32",), b"x-amz-checksum-crc32c:AAAAAA==\r\n\r\n"),  # another one
    (("x-amz-checksum-crc32",), b"x-amz-checksum-crc32 AAAAAA==\r\n\r\n"),  # no colon
    (("x-amz-checksum-crc32",), b"x-amz-checksum-crc32:AAAAAA==\r\n" * 2 + b"\r\n"),  # twice
    (("x-amz-checksum-crc32",), b"x-amz-checksum-crc32:" + b"A" * 20000 + b"\r\n\r\n"),
])
def test_trailer_missing_unannounced_or_malformed_is_refused(announced: tuple[str, ...],
                                                             tail: bytes) -> None:
    with pytest.raises(S3Error) as raised:
        unsigned(announced, tail)
    # A body that ends inside the trailer section is truncated, not malformed.
    assert raised.value.code == ("IncompleteBody" if not tail else MALFORMED_TRAILER)


def test_trailer_names_and_values_are_normalised() -> None:
    decoder = ChunkedDecoder(MODES[UNSIGNED_TRAILER], 0, trailers=("x-amz-checksum-crc32",))
    events = decode(b"0\r\nX-Amz-Checksum-CRC32: AAAAAA== \r\n\r\n", decoder)
    assert events == [Trailer("x-amz-checksum-crc32", "AAAAAA=="), End()]


def test_parse_trailer_names() -> None:
    assert chunked.parse_trailer_names(None) == ()
    assert chunked.parse_trailer_names("X-Amz-Checksum-CRC32, x-amz-checksum-sha1") == (
        "x-amz-checksum-crc32", "x-amz-checksum-sha1")


def test_decoder_refuses_to_be_built_inconsistently() -> None:
    with pytest.raises(ValueError):
        ChunkedDecoder(MODES[SIGNED], 1)
    with pytest.raises(ValueError):
        ChunkedDecoder(MODES[SIGNED], 1, signing=SIGNING, trailers=("x-amz-checksum-crc32",))


def test_signing_values_stay_out_of_reprs() -> None:
    assert SIGNING_KEY not in repr(SIGNING) and "key" not in repr(SIGNING)
