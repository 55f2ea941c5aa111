"""The SigV4 canonical request and string to sign, rebuilt from the wire.

Everything here is a pure function of the request as it arrived
(``RequestFacts``); nothing is normalised except where S3 itself
normalises. Two interoperability decisions live here, each with its
evidence:

**Canonical URI: decode the raw path, then re-encode it with S3's
UriEncode.** S3 signs the path encoded exactly once and never removes
``.``/``..``/``//`` segments (the note shipped with AWS's own SigV4 test
suite, ``normalize-path/normalize-path.txt``; botocore's
``S3SigV4Auth._normalize_url_path`` returns the path untouched). The
server does not take the client's bytes as-is: it percent-decodes the path
and encodes every byte outside ``A-Z a-z 0-9 - _ . ~ /`` as ``%XX`` with
upper-case hex, which is the UriEncode the S3 docs define
(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
"Letters in the hexadecimal value must be uppercase" only matters if the
server recomputes the encoding). Clients that signed a path with ``=``,
``*``, ``@`` or ``!`` left raw were refused by AWS and fixed themselves to
encode them (grafana/k6-jslib-aws#78, mondain/jets3t#17,
soto-project/soto#601), which a server that hashed the raw path would have
accepted. Ceph RGW (``aws4_uri_recode`` in rgw_auth_s3.cc) and MinIO
(``s3utils.EncodePath(req.URL.Path)`` in cmd/signature-v4.go) do the same.
Every common client encodes keys exactly this way, so the rebuilt URI equals
what they signed: botocore/AWS CLI ``quote(key, safe='/~')``, the JS SDK v3
``extendedEncodeURIComponent`` (encodeURIComponent plus ``!'()*``), the Go
SDKs used by rclone ``EscapePath`` (unreserved set), minio-go
``EncodePath``, the Java SDK ``urlEncode`` with ``%7E`` → ``~``. A ``+`` in
the path is a literal plus (RFC 3986; these encoders all send it as
``%2B``), and ``%2F`` decodes to ``/`` as S3's "do not encode the slash in
the object key name" rule implies.

**Canonical query: ``+`` is a space.** Each name and value is decoded the
way HTML forms are (``+`` → space, then ``%XX``), re-encoded with the
unreserved set and sorted by encoded name, then value. The AWS SDK for Java
v1 sends a space in a query value as ``+`` (Apache ``URLEncodedUtils``) and
signs it as ``%20``, and S3 accepts it; Ceph had to learn the same
(ceph/ceph#16116, #35551), and MinIO (``strings.ReplaceAll(rawQuery, "+",
"%20")``) and Garage (``form_urlencoded::parse``) agree. A literal plus must
be sent as ``%2B``, which botocore, the JS, Go and Java SDKs all do. The
router must read query values with the same rule: use ``parse_query``.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from urllib.parse import quote_from_bytes, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _to_bytes(text: str) -> bytes:
    """Wire text back to its bytes (``RequestFacts`` decodes with surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


@lru_cache(maxsize=2048)  # query names and most values repeat from request to request
def uri_encode(data: bytes, *, encode_slash: bool) -> str:
    """S3's UriEncode: keep ``A-Z a-z 0-9 - _ . ~`` (and ``/`` unless told), ``%XX``
    the rest with upper-case hex. ``quote_from_bytes`` keeps exactly that
    unreserved set (RFC 3986; ``~`` since Python 3.7) plus ``safe``."""
    return quote_from_bytes(data, safe="" if encode_slash else "/")


def decode_path(raw_path: str) -> bytes:
    """The bytes a raw path names: ``%XX`` decoded, ``+`` left a plus."""
    return unquote_to_bytes(_to_bytes(raw_path))


@lru_cache(maxsize=1024)  # a link's path repeats with the link
def canonical_uri(raw_path: str) -> str:
    """The CanonicalURI line for S3: decoded once, re-encoded once, never normalised."""
    if not raw_path:
        return "/"
    return uri_encode(decode_path(raw_path), encode_slash=False)


def _decode_query_part(part: str) -> bytes:
    # Tested on the text, not the bytes: ``b"%" in data`` first tries its
    # needle as an integer, and raises and clears a TypeError inside (about
    # 1 800 instructions each time, four per parameter of a new URL).
    # ``+`` is ASCII, so replacing it before or after encoding is the same.
    if "%" not in part and "+" not in part:
        return part.encode("utf-8", "surrogateescape")
    return unquote_to_bytes(part.replace("+", " ").encode("utf-8", "surrogateescape"))


def _decode_query_text(part: str) -> str:
    """``_decode_query_part`` as text; an ASCII part with nothing to decode is itself."""
    if "%" not in part and "+" not in part and part.isascii():
        return part
    return _decode_escaped_text(part)


@lru_cache(maxsize=256)  # X-Amz-Credential's value is the same in a signer's every URL of a day
def _decode_escaped_text(part: str) -> str:
    return _decode_query_part(part).decode("utf-8", "surrogateescape")


# One request reads its query several times (routing, choosing the auth
# mechanism, the canonical request); these small caches make that one parse.
# Entries are immutable tuples of one query string's pieces: nothing secret.
@lru_cache(maxsize=256)
def parse_query_bytes(raw_query: str) -> tuple[tuple[bytes, bytes], ...]:
    """Every ``name=value`` of a raw query, decoded to bytes, in wire order.

    A parameter without ``=`` has the empty value (``?uploads`` → ``uploads=``);
    empty pieces between ``&`` are skipped.
    """
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((_decode_query_part(name), _decode_query_part(value)))
    return tuple(pairs)


@lru_cache(maxsize=64)  # parse_query and then _canonical_pieces split a new URL's query
def _raw_pairs(raw_query: str) -> tuple[tuple[str, str], ...]:
    """Each ``(name, value)`` of a query as sent, nothing decoded; empty
    pieces between ``&`` skipped. (name, "=", value)[::2] is (name, value):
    no call per parameter."""
    return tuple([piece.partition("=")[::2] for piece in raw_query.split("&") if piece])


@lru_cache(maxsize=256)
def parse_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    """``parse_query_bytes`` as text (UTF-8, undecodable bytes kept as surrogates).

    This is the one reading of a query the whole server should share, so that
    what was signed is what is executed.
    """
    if "+" in raw_query or not raw_query.isascii():
        decoded = []
        for piece in raw_query.split("&"):
            if piece:
                name, _, value = piece.partition("=")
                decoded.append((_decode_query_text(name), _decode_query_text(value)))
        return tuple(decoded)
    # The usual query (every SDK's presigned URL, every link): ASCII, no "+",
    # so only a part with a "%" has anything to decode; read in one pass
    # with no call per part, since a new URL's query is read in full.
    pairs = list(_raw_pairs(raw_query))
    if "%" in raw_query:
        for index, (name, value) in enumerate(pairs):
            if "%" in name or "%" in value:
                pairs[index] = (_decode_query_text(name), _decode_query_text(value))
    return tuple(pairs)


# A query in canonical form already: nothing but unreserved characters,
# ``&``, ``=`` and ``%XX`` escapes (upper-case hex) of bytes outside the
# unreserved set. That is how botocore, the JS and Go SDKs and sealbox's own
# links write a presigned URL's query, so each name and value is its own
# UriEncode and the canonical query is its pieces, sorted: nothing decoded
# or re-encoded, which for a URL never seen before (a new signature, a new
# link id) was most of the cost of its canonical request.
_CANONICAL_CHARACTERS = re.compile(r"[A-Za-z0-9\-_.~&=%]*")
_KEPT_ESCAPES = frozenset(
    f"{byte:02X}" for byte in range(256) if quote_from_bytes(bytes([byte]), safe="") != chr(byte)
)
# What keeps a query of those characters from being canonical: a "%" not
# followed by the upper-case hex of a byte UriEncode escapes (lower-case
# hex, an escaped unreserved byte -- ``2D 2E 30-39 41-5A 5F 61-7A 7E``, the
# complement of ``_KEPT_ESCAPES``, which a test holds it to -- or a stray
# "%"), or a second "=" in one parameter (a value's own, encoded as %3D).
# One search in C instead of a loop per escape and per parameter; linear
# (``[^&]*`` stops at the parameter's end).
_NOT_CANONICAL = re.compile(
    r"%(?![0-9A-F]{2})|%(?:2[DE]|3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE])|=[^&]*=")


def _canonical_pieces(raw_query: str) -> list[tuple[str, str]] | None:
    """Each ``(name, value)`` of a query already in canonical form, in wire
    order; None for any other query (it is then decoded and re-encoded)."""
    if not _CANONICAL_CHARACTERS.fullmatch(raw_query) or _NOT_CANONICAL.search(raw_query):
        return None
    return list(_raw_pairs(raw_query))


def canonical_query(raw_query: str, *, exclude: Iterable[str] = ()) -> str:
    """The CanonicalQueryString line; ``exclude`` names parameters left out
    (``X-Amz-Signature`` for a presigned URL)."""
    pairs = _canonical_pieces(raw_query)
    if pairs is None:
        return canonical_query_from_pairs(parse_query_bytes(raw_query), exclude=exclude)
    pairs.sort()
    for name in exclude:
        # Compared encoded: UriEncode is one-to-one, so the same names match.
        # Found by bisection in the sorted pairs, not by a pass over them.
        encoded = uri_encode(_to_bytes(name), encode_slash=True)
        at = bisect_left(pairs, (encoded,))
        while at < len(pairs) and pairs[at][0] == encoded:
            del pairs[at]
    return "&".join(map("=".join, pairs))


def canonical_query_from_pairs(
    pairs: Iterable[tuple[bytes, bytes]], *, exclude: Iterable[str] = ()
) -> str:
    """``canonical_query`` over parameters already decoded by ``parse_query_bytes``."""
    skip = {_to_bytes(name) for name in exclude}
    encoded = sorted(
        (uri_encode(name, encode_slash=True), uri_encode(value, encode_slash=True))
        for name, value in pairs
        if name not in skip
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def trim_all(value: str) -> str:
    """Trimall: strip the ends and fold each inner run of whitespace to one space
    (as botocore's ``_header_value`` and MinIO's ``signV4TrimAll`` do)."""
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, str], signed_headers: Sequence[str]) -> str:
    """The CanonicalHeaders block (each line ends with a newline), in the order
    ``SignedHeaders`` names them. A header named but absent is signed empty, so
    the signature, not a special case, refuses it."""
    lines = []
    for name in signed_headers:
        value = headers.get(name.lower(), "")
        lines.append(f"{name}:{trim_all(value)}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """Join the six parts of the canonical request."""
    return "\n".join([method, uri, query, headers_block, ";".join(signed_headers), payload_hash])


def string_to_sign(date_line: str, scope: str, canonical: str, algorithm: str = ALGORITHM) -> str:
    """The StringToSign: algorithm, request date as sent, scope, hash of the canonical request."""
    digest = hashlib.sha256(_to_bytes(canonical)).hexdigest()
    return f"{algorithm}\n{date_line}\n{scope}\n{digest}"


def hex_bytes(text: str) -> str:
    """Bytes as S3 shows them in ``StringToSignBytes``: two lower-case hex digits, space-separated."""
    return " ".join(f"{b:02x}" for b in _to_bytes(text))
