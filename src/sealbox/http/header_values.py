"""Header values: which text may be kept to be sent back as a response
header, and how kept text is made fit for the wire. Pure.

A value a client gives (a PUT header, a POST form field, a ``response-*``
query parameter, a CORS rule) that sealbox later sends as a header is
checked once where it enters, and made safe once where a record becomes
response headers:

- **Entry** (``refuse_control``): a control character (C0 other than HTAB,
  or DEL) can never be sent: RFC 9110 §5.5 forbids CR, LF and NUL in a
  field value and our HTTP server, like h11, refuses every other CTL. Such
  a value is refused with S3's 400 ``InvalidArgument``. HTTP clients cannot
  send these bytes in a header (the server answers 400 before the app sees
  them), but a form field or a query parameter carries them easily.
  Non-ASCII text is kept: a browser sends ``filename="résumé ✓.pdf"`` or
  Japanese metadata in a POST form as UTF-8 and means it. (The one
  exception is S3's own: a ``response-*`` override outside ISO-8859-1 is
  refused, ``LATIN1_MESSAGE``; see ``api.objects.response_overrides``.)
- **Exit** (``servable``): a kept value goes out as ASCII. Plain ASCII is
  sent as it is (the fast path: ``isascii`` and ``isprintable``, both C
  scans; the precompiled search only for a value holding a tab).
  Otherwise control characters are dropped (a value an older version
  stored unchecked) and non-ASCII text is encoded:

  - ``x-amz-meta-*``: RFC 2047 ``=?UTF-8?B?…?=``, which is what S3 documents
    ("Values of such headers are character decoded as per RFC 2047 before
    storing and encoded as per RFC 2047 to make them mail-safe before
    returning. If the string contains only US-ASCII characters, it is
    presented as is." — User-defined object metadata, S3 User Guide);
  - ``Content-Disposition``: RFC 6266 — the non-ASCII parameter is sent as
    ``filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`` with an ASCII ``filename=``
    fallback. That is the one form every current browser decodes the same
    way (Chrome, Firefox, Safari and Edge prefer ``filename*``); raw UTF-8
    bytes are obs-text whose charset a browser can only guess, and RFC 2047
    inside a quoted filename is a Firefox/Chrome quirk, not a standard;
  - ``Location``: UTF-8 percent-encoded, as a URL is;
  - anything else: RFC 2047, as metadata (such text in ``Content-Type`` or
    ``Cache-Control`` means nothing to a client; it must only not break the
    response).

Values are kept as text. A request header arrives as one character per
byte (``sealbox.server.request``); ``wire_text`` reads those bytes as the
UTF-8 that SDKs, curl and browsers send. Versions before this module kept
such bytes unread, so ``servable_headers`` (an object's kept headers) reads
them the same way: a kept value whose characters are all below U+0100 and
whose bytes are valid UTF-8 is taken to be such a value. The price: text
that really is ``Ã©`` (from a form) goes out as ``é``; such text is all
but unknown, and the alternative was mojibake for every old PUT.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from sealbox.errors import S3Error

# RFC 9110 §5.5 / §5.6.2. HTAB is allowed in a value; every other CTL is not.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN_LINES = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+\n)*[!#$%&'*+\-.^_`|~0-9A-Za-z]+|")
# RFC 2047 §2: =?charset?encoding?encoded-text?=, charset a token without
# RFC 2047's especials (an RFC 2231 "*language" suffix is allowed and ignored).
_ENCODED_WORD = re.compile(r"=\?([!#$%&'*+\-^_`{|}~0-9A-Za-z]+)\?([BbQq])\?([^?\s]*)\?=")
# RFC 8187 attr-char, less what ``quote`` always keeps (letters, digits, "_.-~").
_ATTR_CHAR = "!#$&+^`|"
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}%') + "%"

CONTROL_MESSAGE = "Header value cannot contain control characters."
LATIN1_MESSAGE = "Header value cannot be represented using ISO-8859-1."


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character no header value may carry."""
    return _CONTROL.search(value) is not None


def is_token(name: str) -> bool:
    """Whether ``name`` can be a header name (RFC 9110 token)."""
    return _TOKEN.fullmatch(name) is not None


def refuse_control(name: str, value: str) -> None:
    """S3's 400 ``InvalidArgument`` when ``value`` (of header, field or
    parameter ``name``) holds a control character."""
    if _CONTROL.search(value) is not None:
        raise S3Error("InvalidArgument", CONTROL_MESSAGE, ArgumentName=name,
                      ArgumentValue=shown(value[:256]))


def shown(value: str) -> str:
    """``value`` with its control characters written ``\\x00``, to echo it
    in an error: XML 1.0 cannot carry most of them even as ``&#x0;``, and
    an SDK that cannot parse the error shows the status alone."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


def refuse_name(name: str) -> None:
    """S3's 400 ``InvalidArgument`` for a header name that is not a token
    (a POST form can name a field ``x-amz-meta-a b``; a header cannot)."""
    if _TOKEN.fullmatch(name) is None:
        raise S3Error("InvalidArgument", "Header name is not valid.",
                      ArgumentName=shown(name[:256]), ArgumentValue=shown(name[:256]))


def wire_text(value: str) -> str:
    """A header value held one character per byte, as text: its bytes read
    as UTF-8 when they are UTF-8, else left as Latin-1 (one character per
    byte is then the reading, as for ``é`` sent by a Latin-1 client)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not bytes (a character past U+00FF), or not UTF-8
        return value


def decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded-words decoded, as S3 decodes user
    metadata before storing it; a word that does not decode is kept as it is.
    Whitespace between two adjacent words is dropped (RFC 2047 §6.2)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position:match.start()]
        word = _decode_word(*match.groups())
        if word is None:
            out.append(gap + match.group(0))
            after_word = False
        else:
            if not (after_word and not gap.strip(" \t")):
                out.append(gap)
            out.append(word)
            after_word = True
        position = match.end()
    out.append(value[position:])
    return "".join(out)


def _decode_word(charset: str, encoding: str, text: str) -> str | None:
    try:
        if encoding in "Bb":
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            raw = binascii.a2b_qp(text.encode("ascii"), header=True)
        return raw.decode(charset.split("*", 1)[0])
    except (ValueError, LookupError):  # binascii.Error and UnicodeError are ValueErrors
        return None


def encode_word(text: str) -> str:
    """``text`` as one RFC 2047 encoded-word, ``=?UTF-8?B?…?=`` (one word,
    however long: a folded header would be split across lines)."""
    data = text.encode("utf-8", "replace")  # "replace": a lone surrogate becomes "?"
    return f"=?UTF-8?B?{base64.b64encode(data).decode('ascii')}?="


def _plain(value: str) -> bool:
    """ASCII without control characters: what goes out as it is. Two scans
    in C for the usual value; the search only for one holding a tab (or
    a control character), which ``isprintable`` also reports."""
    return value.isascii() and (value.isprintable() or _CONTROL.search(value) is None)


def servable(name: str, value: str) -> str:
    """``value`` of header ``name`` (lower case) as it may go on the wire:
    ASCII without control characters. See the module's docstring."""
    if _plain(value):
        return value
    text = _CONTROL.sub("", value)
    if text.isascii():
        return text
    if name == "content-disposition":
        return _disposition(text)
    if name == "location":
        return quote(text, safe=_URL_SAFE, errors="replace")
    return encode_word(text)


def servable_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Kept headers (an object's), each value ``servable``, read first as
    ``wire_text`` (an older version kept request bytes unread); a pair
    whose name cannot be a header name (kept by an older version from a POST
    form) is left out."""
    pairs = list(headers)
    values = "".join([value for _, value in pairs])
    names = "\n".join([name for name, _ in pairs])
    # The usual case in one pass over all values and one over all names
    # (a record's headers are made once per record, but on PostgreSQL each
    # read is a new record). The count: a name holding "\n" is no token.
    if (_plain(values) and _TOKEN_LINES.fullmatch(names)
            and names.count("\n") == len(pairs) - 1):
        return pairs
    out = []
    for name, value in pairs:
        if _TOKEN.fullmatch(name) is None:
            continue
        if _plain(value):
            out.append((name, value))
        else:
            out.append((name, servable(name, wire_text(value))))
    return out


# -- Content-Disposition (RFC 6266) --------------------------------------------------------


def _disposition(text: str) -> str:
    """A Content-Disposition holding non-ASCII text, in RFC 6266's form:
    each non-ASCII parameter ``p`` becomes ``p="<ASCII fallback>"`` and
    ``p*=UTF-8''<percent-encoded>``; ASCII parameters are kept as written."""
    kind, *params = _split_parameters(text)
    kind = kind.strip()
    if _TOKEN.fullmatch(kind) is None:
        return encode_word(text)  # not a disposition at all: only keep it intact
    names = {p.partition("=")[0].strip().lower() for p in params}
    out = [kind]
    for param in params:
        param = param.strip()
        if not param:
            continue
        if param.isascii():
            out.append(param)
            continue
        name, _, raw = param.partition("=")
        name = name.strip()
        value = _unquote(raw.strip())
        if name.endswith("*"):  # already an RFC 8187 ext-value, with raw text in it
            if _TOKEN.fullmatch(name[:-1]) is not None:
                out.append(f"{name}={quote(value, safe=_URL_SAFE, errors='replace')}")
            continue
        if _TOKEN.fullmatch(name) is None:
            continue
        out.append(f'{name}="{_ascii_fallback(value)}"')
        if f"{name.lower()}*" not in names:
            out.append(f"{name}*=UTF-8''{quote(value, safe=_ATTR_CHAR, errors='replace')}")
    return "; ".join(out)


def _split_parameters(text: str) -> list[str]:
    """``text`` split at each ``;`` outside a quoted string."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _ascii_fallback(value: str) -> str:
    """An ASCII stand-in for a filename, for clients that do not read
    ``filename*``: accents dropped (``é`` → ``e``), other characters and
    quoting characters become ``_``."""
    out = []
    for char in value:
        if char.isascii():
            out.append("_" if char in '"\\' else char)
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain if plain and _CONTROL.search(plain) is None else "_")
    return "".join(out)
