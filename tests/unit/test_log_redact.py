"""server.log_redact: request targets and log records with their
credentials fingerprinted, never said."""

from __future__ import annotations

import hashlib
import io
import logging
import sys

import pytest

from sealbox.server.log_redact import (
    RedactingFilter,
    fingerprint,
    install,
    loggable_target,
    redact_text,
)

SIG = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


def short(value: str) -> str:
    return f"[sha256:{hashlib.sha256(value.encode()).hexdigest()[:8]}]"


@pytest.mark.parametrize(("path", "query", "shown"), [
    ("/b/k", (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20130524&"
              f"X-Amz-Signature={SIG}&x=1"),
     (f"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20130524&"
      f"X-Amz-Signature={short(SIG)}&x=1")),
    # SigV2: the value is fingerprinted decoded (base64, as the client made it)
    ("/b/k", "AWSAccessKeyId=AK&Expires=9&Signature=NpgC%2BW%3D",
     f"/b/k?AWSAccessKeyId=AK&Expires=9&Signature={short('NpgC+W=')}"),
    # CloudFront: signature and policy; the key pair id stays
    ("/v.mp4", "Policy=eyJTdGF0&Signature=ab~cd&Key-Pair-Id=K2",
     f"/v.mp4?Policy={short('eyJTdGF0')}&Signature={short('ab~cd')}&Key-Pair-Id=K2"),
    # odd spellings of a signature are still a signature
    ("/k", "x-amz-signature=1&X-Amz-%53ignature=2&X-Amz-Security-Token=t",
     (f"/k?x-amz-signature={short('1')}&X-Amz-%53ignature={short('2')}"
      f"&X-Amz-Security-Token={short('t')}")),
    # S3's own subresources are not credentials
    ("/b", "policy", "/b?policy"),
    ("/b", "policy=&uploads", "/b?policy=&uploads"),
    ("/b/k", "", "/b/k"),
])
def test_loggable_target_fingerprints_credentials_only(path: str, query: str, shown: str) -> None:
    assert loggable_target(path, query) == shown
    assert loggable_target(f"{path}?{query}" if query else path) == shown


def test_fingerprint_is_labelled_and_short() -> None:
    assert fingerprint(SIG) == short(SIG) and len(fingerprint(SIG)) == len("[sha256:]") + 8


def test_redact_text_finds_signatures_in_free_text() -> None:
    text = (f"ValueError: bad /b/k?X-Amz-Signature={SIG}&q=1; "
            f"Authorization: AWS4-HMAC-SHA256 Credential=AK/x, Signature={SIG}, "
            "SignatureDoesNotMatch stays, X-Amz-Signature%3Dabc")
    cleaned = redact_text(text)
    assert SIG not in cleaned and "abc" not in cleaned.split("%3D")[1]
    assert cleaned.count(short(SIG)) == 2 and "SignatureDoesNotMatch stays" in cleaned


def _emit(logger_name: str, message: str, *args: object, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    second = logging.StreamHandler(io.StringIO())
    logger = logging.getLogger(logger_name)
    logger.addHandler(second)  # a record crossing two handlers is rewritten once
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install([logger_name])
        if exc:
            try:
                raise ValueError(f"a link went wrong: /b/k?X-Amz-Signature={SIG}")
            except ValueError:
                logger.exception(message, *args)
        else:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.removeHandler(second)
    return stream.getvalue()


def test_a_traceback_is_scrubbed() -> None:
    out = _emit("sealbox.test.redact", "request %s failed", "A1B2", exc=True)
    assert SIG not in out and short(SIG) in out and "Traceback" in out and "A1B2" in out


def test_uvicorns_access_line_keeps_its_argument_tuple() -> None:
    # uvicorn's AccessFormatter unpacks (client, method, path, version, status).
    out = _emit("uvicorn.access", '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                f"/b/k?X-Amz-Credential=AK&X-Amz-Signature={SIG}", "1.1", 200)
    assert out == (f'uvicorn.access 127.0.0.1:5 - "GET /b/k?X-Amz-Credential=AK&'
                   f'X-Amz-Signature={short(SIG)} HTTP/1.1" 200\n')


def test_uvicorns_access_formatter_still_formats_a_filtered_record() -> None:
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", f"/k?Signature={SIG}", "1.1", 403), None)
    RedactingFilter().filter(record)
    line = AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s',
                           use_colors=False).format(record)
    assert line == f'127.0.0.1:5 "GET /k?Signature={short(SIG)} HTTP/1.1" 403 Forbidden'


def test_install_is_idempotent() -> None:
    handler = logging.StreamHandler(sys.stderr)
    logger = logging.getLogger("sealbox.test.idempotent")
    logger.addHandler(handler)
    try:
        install(["sealbox.test.idempotent"])
        install(["sealbox.test.idempotent"])
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
