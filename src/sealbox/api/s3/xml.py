"""S3's XML: safe parsing of request bodies, fast rendering of responses.

Parsing (``parse_xml``, ``find_text``, ``find_all``)
    Request bodies come from anyone who can sign a request, so the parser
    runs expat directly and refuses any DOCTYPE (hence every ENTITY, internal
    or external: no billion laughs, no file or network reads). Clients send
    S3's namespace ``http://s3.amazonaws.com/doc/2006-03-01/`` or none (boto3
    sends it on some operations and not others; the AWS CLI and s3cmd
    differ again), so namespaces are dropped while parsing: element tags are
    local names and the helpers compare local names. Anything S3 would not
    read is ``MalformedXML``, S3's code for every such body (LocalStack's
    AWS-validated snapshots record it for empty rules, wrong roots and
    malformed documents alike). A body over the length limit is
    ``MaxMessageLengthExceeded`` ("Your request was too big.").

Rendering (``render``, ``render_error``)
    A string builder, not a DOM: responses are lists of ``(name, value)``
    pairs, which is also the order S3 writes them in. Values:

    ========================  ===============================================
    ``str``                   escaped text; ``""`` is ``<Name></Name>``
    ``bool``                  ``true`` / ``false`` (``<IsTruncated>``)
    ``int``                   decimal
    ``datetime``              ``2009-10-12T17:50:30.000Z`` (S3's form)
    list/tuple of pairs       child elements; empty is ``<Name/>``
    ``Mapping``               child elements, in the mapping's order
    ``None``                  the element is left out
    ========================  ===============================================

    A pair may carry attributes as a third item: ``("Grantee", [...],
    {"xmlns:xsi": XSI, "xsi:type": "CanonicalUser"})``.

Text escaping follows S3:

- ``&``, ``<``, ``>`` and ``"`` become entities; S3 writes ETags in
  listings as ``<ETag>&quot;…&quot;</ETag>``.
- Characters XML 1.0 cannot carry (C0 controls other than tab and newline,
  U+FFFE, U+FFFF, lone surrogates) and ``\\r`` (which a parser would turn
  into ``\\n``) become hexadecimal character references such as ``&#x1;``.
  S3 does the same for keys holding control characters: its listings carry
  ``&#x1b;`` and ``&#x8;`` (aws/aws-sdk-php#169, pfig/net-amazon-s3#67),
  which strict XML 1.0 parsers reject; clients that may meet such keys ask
  for ``encoding-type=url``, which the listing operations apply to keys
  before they get here. We keep S3's behaviour rather than invent one: the
  bytes a lenient client reads back are the key it stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Large enough for CompleteMultipartUpload's 10,000 parts with checksums and
# DeleteObjects' 1,000 keys of 1,024 bytes; callers with smaller bodies
# pass their own limit.
DEFAULT_MAX_LENGTH = 8 * 1024 * 1024
MAX_DEPTH = 64  # S3's deepest request document (lifecycle rules) is ~6 levels


# --- parsing ----------------------------------------------------------------------


class _Refused(Exception):
    """A construct we never parse (DOCTYPE, entities, too deep)."""


def parse_xml(body: bytes, expected_root: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> Element:
    """The root element of ``body``, whose local name must be ``expected_root``.

    Tags in the returned tree are local names (``Key``, not
    ``{http://s3…}Key``). Raises ``S3Error("MalformedXML")`` for an empty,
    malformed or wrong-rooted document and for any DOCTYPE, and
    ``S3Error("MaxMessageLengthExceeded")`` when ``body`` is longer than
    ``max_length`` bytes.
    """
    if len(body) > max_length:
        raise S3Error("MaxMessageLengthExceeded")
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _Refused("too deep")
        builder.start(_local(name), {_local(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_local(name))

    def refuse(*_args: object) -> None:
        raise _Refused("DOCTYPE and entity declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(body, True)
        root = builder.close()
    except (expat.ExpatError, _Refused, AssertionError, LookupError, ValueError):
        # TreeBuilder.close asserts when there is no root at all. A declared
        # encoding expat does not know is handed to Python's codecs, which
        # raise LookupError for an unknown name ("bogus", or "base64", a
        # codec that is not a text encoding), ValueError for a multi-byte one
        # ("shift_jis", "utf-32") and UnicodeError (a ValueError) for one
        # that cannot decode every byte ("idna").
        raise S3Error("MalformedXML") from None
    if root.tag != expected_root:
        raise S3Error("MalformedXML")
    return root


def _local(name: str) -> str:
    """``local`` from expat's ``"namespace local"`` (or a bare ``local``)."""
    return name.rpartition(" ")[2]


def _tag(element: Element) -> str:
    return element.tag.rpartition("}")[2]


def find_all(element: Element, name: str) -> list[Element]:
    """The children of ``element`` named ``name``, namespace aside."""
    return [child for child in element if _tag(child) == name]


def find_text(element: Element, name: str) -> str | None:
    """The text of the first child named ``name`` (``""`` when it is empty),
    or ``None`` when there is no such child. Whitespace is kept: in S3 it is
    part of a key or a value."""
    for child in element:
        if _tag(child) == name:
            return child.text or ""
    return None


# --- rendering --------------------------------------------------------------------

# One pass finds whether anything needs escaping; most text needs nothing.
_SPECIAL = re.compile('[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]')
_CHAR_REF = re.compile("[\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def needs_escape(text: str) -> bool:
    """Whether ``escape`` would change ``text``."""
    return _SPECIAL.search(text) is not None


def escape(text: str) -> str:
    """``text`` safe inside an element or a double-quoted attribute."""
    if _SPECIAL.search(text) is None:
        return text
    text = (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    return _CHAR_REF.sub(lambda m: f"&#x{ord(m.group()):x};", text)


def render(root: str, content: object = None, *, namespace: bool = True) -> bytes:
    """A whole response document, UTF-8, with S3's declaration and namespace.

    ``content`` is the root's value (see the module docstring): usually a
    list of ``(name, value)`` pairs, or a string for a text-only root such
    as ``LocationConstraint``. An empty root is self-closing, as S3 writes
    ``<LocationConstraint xmlns="…"/>`` for us-east-1.
    """
    open_tag = f'{root} xmlns="{S3_NAMESPACE}"' if namespace else root
    parts = [DECLARATION]
    if content is None or content == "" or (_is_children(content) and not content):
        parts.append(f"<{open_tag}/>")
    else:
        parts.append(f"<{open_tag}>")
        _render_value(parts, content)
        parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def render_fragment(children: object) -> str:
    """``(name, value)`` pairs rendered as elements, with no document around
    them: the parts of a response that a faster writer (a listing's
    thousand rows) surrounds with its own."""
    parts: list[str] = []
    _render_children(parts, children)
    return "".join(parts)


def render_document(root: str, fragments: list[str]) -> bytes:
    """A whole response document, as ``render`` writes it, around content
    already rendered: ``fragments`` are XML, every text in them escaped by
    their maker (``escape``, ``render_fragment``)."""
    if not any(fragments):
        return f'{DECLARATION}<{root} xmlns="{S3_NAMESPACE}"/>'.encode()
    return "".join([DECLARATION, f'<{root} xmlns="{S3_NAMESPACE}">', *fragments,
                    f"</{root}>"]).encode("utf-8")


def render_error(
    code: str,
    message: str,
    fields: Mapping[str, object],
    request_id: str,
    host_id: str,
    resource: str | None = None,
) -> bytes:
    """S3's error body, in S3's order: Code, Message, the error's own fields
    (``BucketName``, ``Key``, ``Condition``, ``RangeRequested`` …),
    Resource when given, RequestId, HostId. ``<Error>`` has no namespace.

    The order is S3's: extra fields come straight after Message and before
    RequestId (e.g. ``…<RangeRequested>bytes=102-200</RangeRequested>
    <ActualObjectSize>100</ActualObjectSize><RequestId>…``, quoted from S3 in
    versity/versitygw#2069), and the REST error page's example puts
    ``<Resource>`` after Message and before RequestId.
    """
    children: list[tuple[str, object]] = [("Code", code), ("Message", message)]
    children.extend(fields.items())
    if resource is not None:
        children.append(("Resource", resource))
    children.append(("RequestId", request_id))
    children.append(("HostId", host_id))
    return render("Error", children, namespace=False)


def _is_children(value: object) -> bool:
    return isinstance(value, (list, tuple, Mapping))


def _render_value(parts: list[str], value: object) -> None:
    if isinstance(value, str):
        parts.append(escape(value))
    elif isinstance(value, Mapping):
        _render_children(parts, value.items())
    elif isinstance(value, (list, tuple)):
        _render_children(parts, value)
    else:
        parts.append(_scalar(value))


def _render_children(parts: list[str], children: object) -> None:
    for item in children:  # type: ignore[attr-defined]
        name: str = item[0]
        value = item[1]
        if value is None:
            continue
        attrs = ""
        if len(item) > 2 and item[2]:
            attrs = "".join(f' {k}="{escape(str(v))}"' for k, v in item[2].items())
        if isinstance(value, str):
            parts.append(f"<{name}{attrs}>{escape(value)}</{name}>")
        elif _is_children(value):
            if not value:
                parts.append(f"<{name}{attrs}/>")
            else:
                parts.append(f"<{name}{attrs}>")
                _render_value(parts, value)
                parts.append(f"</{name}>")
        else:
            parts.append(f"<{name}{attrs}>{_scalar(value)}</{name}>")


def _scalar(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return format_iso8601(value)
    return escape(str(value))
