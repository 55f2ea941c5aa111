"""What a log line may say about a request: never a credential.

A presigned link is a bearer credential until it expires: whoever reads
its query from a log can replay it. So no log line carries a signature, a
session token or a CloudFront policy; each is replaced by a short
fingerprint, ``X-Amz-Signature=[sha256:1a2b3c4d]`` (the first 8 hex digits
of the SHA-256 of the decoded value), which tells links apart and can be
matched against a link one holds, but signs nothing. The access key id in
``X-Amz-Credential`` / ``AWSAccessKeyId`` / ``Key-Pair-Id`` is an identifier,
not a secret, and stays.

``loggable_target`` renders a request target for the access logs (both HTTP
servers) and error messages. ``RedactingFilter`` is the net under every
handler: it scrubs the final text of any record, traceback included, for
what may have slipped into an exception's message.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote

# Compared without case: S3 reads only the exact names, but a mis-cased
# signature is still someone's signature.
_SECRET_NAMES = frozenset({"x-amz-signature", "signature", "x-amz-security-token"})
# CloudFront's custom policy (the signed document: with the signature gone it
# grants nothing, but it is long and says who may fetch what). Exact case:
# S3's ``?policy`` subresource is another parameter.
_EXACT_NAMES = frozenset({"Policy"})
# In free text: name=value or name%3Dvalue, the value up to a delimiter
# (a value already fingerprinted is left as it is).
_IN_TEXT = re.compile(r"(?i)\b((?:x-amz-)?signature|x-amz-security-token)(=|%3D)"
                      r"(?!\[sha256:)([^&\s\"'<>;,)\]]+)")
ACCESS_LOGGERS = ("uvicorn.access",)
_MARK = "_sealbox_redacted"


def fingerprint(value: str) -> str:
    """``[sha256:1a2b3c4d]``: names a secret without saying it."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()
    return f"[sha256:{digest[:8]}]"


def _secret(name: str) -> bool:
    decoded = unquote(name, errors="surrogateescape")
    return decoded.lower() in _SECRET_NAMES or decoded in _EXACT_NAMES


def redact_query(query: str) -> str:
    """``query`` with each secret-bearing parameter's value fingerprinted;
    everything else byte for byte."""
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, eq, value = piece.partition("=")
        if eq and value and _secret(name):
            piece = f"{name}={fingerprint(unquote(value.replace('+', ' ')))}"
        pieces.append(piece)
    return "&".join(pieces)


def loggable_target(path: str, query: str = "") -> str:
    """The request target as logs show it: the path, and the query with its
    credentials fingerprinted. ``path`` may carry the query itself."""
    if not query and "?" in path:
        path, _, query = path.partition("?")
    query = redact_query(query)
    return f"{path}?{query}" if query else path


def redact_text(text: str) -> str:
    """Free text (a message, a traceback) with any ``Signature=…``,
    ``X-Amz-Signature=…`` or ``X-Amz-Security-Token=…`` value fingerprinted."""
    if "=" not in text and "%3" not in text:
        return text
    return _IN_TEXT.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{fingerprint(unquote(m.group(3)))}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record so that its message and traceback carry no
    credential: uvicorn's access line gets ``loggable_target`` on its request
    target (its third argument; its formatter unpacks the arguments, so they
    stay a tuple), every string argument and then the formatted message and
    exception text get ``redact_text``. A record is rewritten once, whatever
    number of handlers it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        marks = vars(record)
        if marks.get(_MARK):
            return True
        marks[_MARK] = True
        args = record.args
        if isinstance(args, tuple) and args:
            cleaned_args = [redact_text(a) if isinstance(a, str) else a for a in args]
            if record.name in ACCESS_LOGGERS and len(args) >= 3 and isinstance(args[2], str):
                cleaned_args[2] = redact_text(loggable_target(args[2]))
            record.args = tuple(cleaned_args)
        if record.name not in ACCESS_LOGGERS:
            message = record.getMessage()
            cleaned = redact_text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install(logger_names: Iterable[str] = ("", "uvicorn", "uvicorn.error", "uvicorn.access",
                                           "sealbox")) -> None:
    """Put one ``RedactingFilter`` on every handler of these loggers (the
    root's, and uvicorn's own, which do not propagate). Idempotent; call it
    again after anything (re)configures logging."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
