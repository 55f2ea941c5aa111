"""The canonical request, rebuilt from the wire: URI, query, headers, and
AWS's own SigV4 test suite walked one case per folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sealbox.auth.sigv4 import canonical, keys

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "sigv4"
SUITE = VECTORS / "aws4_testsuite"


# --- canonical URI -----------------------------------------------------------

# (raw path as a client sent it, canonical URI S3 computes)
URI_CASES = [
    ("/", "/"),
    ("", "/"),
    ("/bucket/key.txt", "/bucket/key.txt"),
    # botocore quote(key, safe='/~'): each of these arrives encoded and stays so
    ("/b/a%20b", "/b/a%20b"),
    ("/b/a%2Bb", "/b/a%2Bb"),
    ("/b/%21%2A%27%28%29", "/b/%21%2A%27%28%29"),
    ("/b/%C3%A9t%C3%A9", "/b/%C3%A9t%C3%A9"),
    ("/b/a~b", "/b/a~b"),
    ("/b/100%25", "/b/100%25"),
    # sent raw, S3 encodes them (so a client that signed them raw is refused, as on AWS)
    ("/b/a b", "/b/a%20b"),
    ("/b/a+b", "/b/a%2Bb"),  # + in a path is a literal plus
    ("/b/!*'()", "/b/%21%2A%27%28%29"),
    ("/b/a=b&c@d", "/b/a%3Db%26c%40d"),
    ("/b/été", "/b/%C3%A9t%C3%A9"),
    ("/b/$delete", "/b/%24delete"),
    # lower-case hex and needless escapes are normalised
    ("/b/%2a%c3%a9", "/b/%2A%C3%A9"),
    ("/b/%7E%41", "/b/~A"),
    # %2F is a slash in the key, which S3 leaves unencoded
    ("/b/a%2Fb", "/b/a/b"),
    # never normalised: dot segments and empty segments are signed as sent
    ("/b/./a/../c//d/", "/b/./a/../c//d/"),
    ("//", "//"),
    # a stray % that starts no escape is a literal percent
    ("/b/50%off", "/b/50%25off"),
    ("/b/%zz", "/b/%25zz"),
]


@pytest.mark.parametrize(("raw", "expected"), URI_CASES)
def test_canonical_uri_decodes_then_reencodes_with_s3_uriencode(raw: str, expected: str) -> None:
    assert canonical.canonical_uri(raw) == expected


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


@pytest.mark.parametrize("encode_slash", [True, False])
def test_uri_encode_keeps_only_the_unreserved_set_for_every_byte(encode_slash: bool) -> None:
    for byte in range(256):
        char = chr(byte)
        kept = char in UNRESERVED or (char == "/" and not encode_slash)
        expected = char if kept else f"%{byte:02X}"
        assert canonical.uri_encode(bytes([byte]), encode_slash=encode_slash) == expected


def test_canonical_uri_keeps_invalid_utf8_bytes() -> None:
    raw = b"/b/\xff\xfe".decode("utf-8", "surrogateescape")
    assert canonical.canonical_uri(raw) == "/b/%FF%FE"


# --- canonical query ---------------------------------------------------------

QUERY_CASES = [
    ("", ""),
    ("lifecycle", "lifecycle="),
    ("uploads&prefix=a", "prefix=a&uploads="),
    ("max-keys=2&prefix=J", "max-keys=2&prefix=J"),
    ("prefix=J&max-keys=2", "max-keys=2&prefix=J"),
    # sorted by encoded name, then encoded value (byte order: upper case first)
    ("b=2&a=3&a=1&B=0", "B=0&a=1&a=3&b=2"),
    ("%E1%88%B4=1&Param=2", "%E1%88%B4=1&Param=2"),
    # + is a space (Java SDK v1 sends spaces so); a literal plus arrives as %2B
    ("prefix=a+b", "prefix=a%20b"),
    ("prefix=a%2Bb", "prefix=a%2Bb"),
    ("prefix=a%20b", "prefix=a%20b"),
    # everything outside the unreserved set is encoded, upper-case hex
    ("k=a/b:c,d", "k=a%2Fb%3Ac%2Cd"),
    ("k=%2f%3a", "k=%2F%3A"),
    ("k=-_.~", "k=-_.~"),
    ("k=%7E", "k=~"),
    ("k=é", "k=%C3%A9"),
    ("k=a=b", "k=a%3Db"),
    ("k=", "k="),
    ("=v", "=v"),
    # empty pieces between & are not parameters
    ("a=1&&b=2&", "a=1&b=2"),
]


@pytest.mark.parametrize(("raw", "expected"), QUERY_CASES)
def test_canonical_query_decodes_reencodes_and_sorts(raw: str, expected: str) -> None:
    assert canonical.canonical_query(raw) == expected


def test_canonical_query_excludes_named_parameters() -> None:
    raw = "X-Amz-Signature=abc&X-Amz-Date=1&x-amz-signature=kept"
    assert (
        canonical.canonical_query(raw, exclude=("X-Amz-Signature",))
        == "X-Amz-Date=1&x-amz-signature=kept"
    )


@pytest.mark.parametrize("raw", [raw for raw, _ in QUERY_CASES] + [
    "X-Amz-Credential=AK%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab",
    "k=%2f", "k=%41", "k=%", "k=%2", "k=%2G", "a-b=2&a=1", "X-Amz-%53ignature=1",
])
def test_canonical_query_of_a_canonical_query_is_the_decoded_and_reencoded_one(raw: str) -> None:
    # A query already in canonical form skips decoding; the answer must not change.
    for exclude in ((), ("X-Amz-Signature",), ("a",)):
        assert canonical.canonical_query(raw, exclude=exclude) == (
            canonical.canonical_query_from_pairs(canonical.parse_query_bytes(raw),
                                                 exclude=exclude))


@pytest.mark.parametrize("escape", [f"{byte:02X}" for byte in range(256)]
                         + [f"{byte:02x}" for byte in range(256)] + ["", "2", "2G", "G2"])
def test_every_escape_is_taken_as_canonical_only_when_uriencode_writes_it(escape: str) -> None:
    # The fast path's one search must agree with UriEncode on every byte:
    # upper-case hex of a byte it escapes is kept, anything else is decoded.
    for raw in (f"k=%{escape}", f"k=%{escape}&z=1", f"%{escape}=v"):
        pieces = canonical._canonical_pieces(raw)
        assert (pieces is not None) == (escape in canonical._KEPT_ESCAPES), raw
        assert canonical.canonical_query(raw) == canonical.canonical_query_from_pairs(
            canonical.parse_query_bytes(raw))


def test_a_second_equals_sign_in_a_value_is_not_canonical() -> None:
    assert canonical._canonical_pieces("a=b=c&d=e") is None
    assert canonical._canonical_pieces("a=b&c=d&e") == [("a", "b"), ("c", "d"), ("e", "")]
    assert canonical.canonical_query("a=b=c") == "a=b%3Dc"


def test_parse_query_reads_plus_as_space_and_keeps_order() -> None:
    assert canonical.parse_query("b=a+b&a=%2B&c") == (("b", "a b"), ("a", "+"), ("c", ""))


# --- canonical headers -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("value1", "value1"),
        ("  value1  ", "value1"),
        ('"a   b   c"', '"a b c"'),
        ("a\tb", "a b"),
        ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("", ""),
    ],
)
def test_canonical_header_values_are_trimmed_and_inner_runs_folded(
    value: str, expected: str
) -> None:
    assert canonical.trim_all(value) == expected


def test_canonical_headers_follow_signed_headers_and_keep_port_in_host() -> None:
    headers = {"host": "localhost:9000", "x-amz-date": "20130524T000000Z", "range": "bytes=0-9"}
    block = canonical.canonical_headers(headers, ("host", "range", "x-amz-date"))
    assert block == "host:localhost:9000\nrange:bytes=0-9\nx-amz-date:20130524T000000Z\n"


def test_canonical_headers_sign_an_absent_signed_header_as_empty() -> None:
    assert canonical.canonical_headers({"host": "h"}, ("host", "x-amz-meta-a")) == (
        "host:h\nx-amz-meta-a:\n"
    )


def test_hex_bytes_are_two_lower_case_digits_space_separated() -> None:
    assert canonical.hex_bytes("AWS4\né") == "41 57 53 34 0a c3 a9"


# --- the S3 documentation's examples, at the canonical level ------------------

DOCS = json.loads((VECTORS / "s3-docs-examples.json").read_text())


@pytest.mark.parametrize("case", DOCS["header_examples"], ids=lambda c: c["name"])
def test_s3_docs_example_canonical_request_and_signature(case: dict) -> None:
    signed = tuple(case["signed_headers"].split(";"))
    creq = canonical.canonical_request(
        case["method"],
        canonical.canonical_uri(case["path"]),
        canonical.canonical_query(case["query"]),
        canonical.canonical_headers(case["headers"], signed),
        signed,
        case["headers"]["x-amz-content-sha256"],
    )
    assert creq == case["canonical_request"]
    assert hashlib.sha256(creq.encode()).hexdigest() == case["canonical_request_sha256"]
    sts = canonical.string_to_sign(
        case["headers"]["x-amz-date"], "20130524/us-east-1/s3/aws4_request", creq
    )
    key = keys.signing_key(DOCS["secret_key"], "20130524", "us-east-1", "s3")
    assert keys.sign(key, sts) == case["signature"]


# --- AWS's SigV4 test suite (botocore sdist), one case per folder --------------

# Cases whose expected canonical request removes "." / ".." / "//" segments:
# S3 signs the path as sent (normalize-path/normalize-path.txt), so they are
# checked the S3 way in test_aws4_testsuite_normalize_cases_are_not_normalised_for_s3.
NORMALISING = {
    "get-relative",
    "get-relative-relative",
    "get-slash",
    "get-slash-dot-slash",
    "get-slash-pointless-dot",
    "get-slashes",
}


def _suite_cases() -> list[Path]:
    return sorted(p.parent for p in SUITE.rglob("*.req"))


def _read_request(case: Path) -> tuple[str, str, str, dict[str, str], bytes]:
    """Parse a .req file: method, raw path, raw query, headers (lower-case,
    repeats joined with ',', folded lines kept with their newline), body."""
    raw = (case / f"{case.name}.req").read_bytes().decode("utf-8")
    head, _, body = raw.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" HTTP/", 1)[0]
    path, _, query = target.partition("?")
    headers: dict[str, list[str]] = {}
    last = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            headers[last][-1] += "\n" + line
            continue
        name, _, value = line.partition(":")
        last = name.lower()
        headers.setdefault(last, []).append(value.strip())
    return method, path, query, {k: ",".join(v) for k, v in headers.items()}, body.encode()


def _authz(case: Path) -> tuple[tuple[str, ...], str]:
    authz = (case / f"{case.name}.authz").read_text()
    signed = authz.split("SignedHeaders=")[1].split(",")[0]
    signature = authz.split("Signature=")[1].strip()
    return tuple(signed.split(";")), signature


# get-vanilla-with-session-token's .req leaves out the token header its
# canonical request signs (botocore adds it from the credentials); this is it.
SESSION_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"


def _suite_creq(case: Path) -> str:
    method, path, query, headers, body = _read_request(case)
    if case.name == "get-vanilla-with-session-token":
        headers["x-amz-security-token"] = SESSION_TOKEN
    signed, _ = _authz(case)
    return canonical.canonical_request(
        method,
        canonical.canonical_uri(path),
        canonical.canonical_query(query),
        canonical.canonical_headers(headers, signed),
        signed,
        hashlib.sha256(body).hexdigest(),
    )


@pytest.mark.parametrize(
    "case",
    [c for c in _suite_cases() if c.name not in NORMALISING],
    ids=lambda c: c.name,
)
def test_aws4_testsuite_case(case: Path) -> None:
    creq = _suite_creq(case)
    assert creq == (case / f"{case.name}.creq").read_text()
    sts = canonical.string_to_sign(
        "20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq
    )
    assert sts == (case / f"{case.name}.sts").read_text()
    key = keys.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service"
    )
    _, signature = _authz(case)
    assert keys.sign(key, sts) == signature


@pytest.mark.parametrize(
    "case",
    [c for c in _suite_cases() if c.name in NORMALISING],
    ids=lambda c: c.name,
)
def test_aws4_testsuite_normalize_cases_are_not_normalised_for_s3(case: Path) -> None:
    _, path, _, _, _ = _read_request(case)
    creq = _suite_creq(case)
    # The generic suite collapses the path; S3 keeps it byte for byte.
    assert creq.split("\n")[1] == path
    assert creq != (case / f"{case.name}.creq").read_text()


def test_aws4_testsuite_is_present() -> None:
    assert len(_suite_cases()) == 34
    assert (SUITE / "LICENSE").exists()
