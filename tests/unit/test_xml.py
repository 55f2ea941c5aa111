"""S3 XML: hostile and sloppy request bodies in, byte-exact S3 documents out."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from sealbox.api.s3.xml import (
    DECLARATION,
    S3_NAMESPACE,
    XSI_NAMESPACE,
    escape,
    find_all,
    find_text,
    parse_xml,
    render,
    render_error,
)
from sealbox.errors import S3Error

NS = f' xmlns="{S3_NAMESPACE}"'

DELETE_WITH_NS = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<Delete{NS}><Object><Key>a</Key></Object>'
    "<Object><Key> b </Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>"
).encode()
DELETE_WITHOUT_NS = b"<Delete><Object><Key>a</Key></Object><Object><Key> b </Key></Object></Delete>"
DELETE_PREFIXED_NS = (
    f'<s3:Delete xmlns:s3="{S3_NAMESPACE}"><s3:Object><s3:Key>a</s3:Key></s3:Object>'
    "<s3:Object><s3:Key> b </s3:Key></s3:Object></s3:Delete>"
).encode()


@pytest.mark.parametrize("body", [DELETE_WITH_NS, DELETE_WITHOUT_NS, DELETE_PREFIXED_NS])
def test_parse_reads_bodies_with_or_without_s3s_namespace(body):
    root = parse_xml(body, "Delete")
    assert root.tag == "Delete"
    keys = [find_text(obj, "Key") for obj in find_all(root, "Object")]
    assert keys == ["a", " b "]  # whitespace is part of a key


def test_find_text_tells_missing_from_empty():
    root = parse_xml(
        b"<Tagging><TagSet><Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>", "Tagging"
    )
    tag = find_all(find_all(root, "TagSet")[0], "Tag")[0]
    assert find_text(tag, "Value") == ""
    assert find_text(tag, "Other") is None
    assert find_all(root, "Missing") == []


def test_find_helpers_accept_elements_built_with_namespaced_tags():
    root = ElementTree.fromstring(DELETE_WITH_NS)  # tags like "{http://s3…}Object"
    assert [find_text(o, "Key") for o in find_all(root, "Object")] == ["a", " b "]


def test_parse_decodes_entities_and_character_references():
    root = parse_xml(
        b"<Delete><Object><Key>a&amp;b&lt;&#x41;&#13;</Key></Object></Delete>", "Delete"
    )
    assert find_text(find_all(root, "Object")[0], "Key") == "a&b<A\r"


def test_parse_reads_utf8_and_declared_encodings():
    assert find_text(parse_xml("<T><K>ключ</K></T>".encode(), "T"), "K") == "ключ"
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><T><K>caf\xe9</K></T>'.encode("latin-1")
    assert find_text(parse_xml(latin, "T"), "K") == "café"


HOSTILE_OR_MALFORMED = [
    b"",
    b"   ",
    b"not xml",
    b"<Delete>",  # unclosed
    b"<Delete></Delet>",
    b"<Delete></Delete><Delete></Delete>",  # junk after the root
    b"<Delete><Key>&undefined;</Key></Delete>",
    b"<Delete><Key>\x01</Key></Delete>",  # not an XML 1.0 character
    b"<Delete><Key>&#x1;</Key></Delete>",  # nor as a reference
    b'<?xml version="1.0"?><!DOCTYPE Delete><Delete/>',
    # billion laughs
    (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Delete><Key>&lol2;</Key></Delete>"
    ),
    # external entity (XXE)
    (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Delete><Key>&x;</Key></Delete>"
    ),
    # parameter entity
    (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://example.com/x">%p;]>'
        b"<Delete/>"
    ),
    b"<Delete" + b"".join(b"><a" for _ in range(100)) + b">",
]


# Declared encodings expat hands to Python's codecs, which refuse them in
# their own ways (LookupError, ValueError, UnicodeError).
UNREADABLE_ENCODINGS = ["bogus", "base64", "rot13", "utf-7", "shift_jis", "utf-32", "utf_16_be",
                        "idna", "punycode", "undefined", "x" * 40]


@pytest.mark.parametrize("encoding", UNREADABLE_ENCODINGS)
def test_a_declared_encoding_that_cannot_be_read_is_malformed_xml(encoding):
    body = f'<?xml version="1.0" encoding="{encoding}"?><Delete><Key>caf\xe9</Key></Delete>'
    with pytest.raises(S3Error) as caught:
        parse_xml(body.encode("latin-1"), "Delete")
    assert (caught.value.code, caught.value.status) == ("MalformedXML", 400)


@pytest.mark.parametrize("body", HOSTILE_OR_MALFORMED)
def test_malformed_or_declared_documents_are_malformed_xml(body):
    with pytest.raises(S3Error) as caught:
        parse_xml(body, "Delete")
    assert (caught.value.code, caught.value.status) == ("MalformedXML", 400)


def test_nesting_deeper_than_any_s3_document_is_malformed_xml():
    assert parse_xml(b"<a>" * 64 + b"</a>" * 64, "a").tag == "a"
    with pytest.raises(S3Error) as caught:
        parse_xml(b"<a>" * 65 + b"</a>" * 65, "a")
    assert caught.value.code == "MalformedXML"


@pytest.mark.parametrize(
    "body",
    [b"<Tagging/>", f"<Tagging{NS}/>".encode(), b"<delete/>", b"<Delete:x xmlns:Delete='u'/>"],
)
def test_a_root_other_than_expected_is_malformed_xml(body):
    with pytest.raises(S3Error) as caught:
        parse_xml(body, "Delete")
    assert caught.value.code == "MalformedXML"


def test_a_body_over_the_limit_is_max_message_length_exceeded():
    body = b"<Delete>" + b" " * 100 + b"</Delete>"
    assert parse_xml(body, "Delete", max_length=len(body)).tag == "Delete"
    with pytest.raises(S3Error) as caught:
        parse_xml(body, "Delete", max_length=len(body) - 1)
    assert (caught.value.code, caught.value.status) == ("MaxMessageLengthExceeded", 400)


# --- rendering ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("plain/key.txt", "plain/key.txt"),
        ("a&b<c>d", "a&amp;b&lt;c&gt;d"),
        ('"9e107d9d372bb6826bd81d3542a419d6"', "&quot;9e107d9d372bb6826bd81d3542a419d6&quot;"),
        ("it's", "it's"),
        ("tab\there\nnewline", "tab\there\nnewline"),  # XML carries these as they are
        ("cr\r", "cr&#xd;"),  # a raw CR would be read back as LF
        ("\x01\x08\x1b\x1f", "&#x1;&#x8;&#x1b;&#x1f;"),  # S3's form (aws-sdk-php#169)
        ("\x00", "&#x0;"),
        ("\ufffe\uffff", "&#xfffe;&#xffff;"),
        ("bad\udc80utf8", "bad&#xdc80;utf8"),  # a surrogate-escaped byte stays encodable
        ("ключ/🔑", "ключ/🔑"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_escape_uses_entities_and_s3s_character_references(text, expected):
    assert escape(text) == expected


def test_render_list_bucket_result_is_s3s_document():
    body = render(
        "ListBucketResult",
        [
            ("Name", "bucket"),
            ("Prefix", ""),
            ("KeyCount", 1),
            ("MaxKeys", 1000),
            ("IsTruncated", False),
            (
                "Contents",
                [
                    ("Key", "a&b"),
                    ("LastModified", datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
                    ("ETag", '"fba9dede5f27731c9771645a39863328"'),
                    ("Size", 434234),
                    ("StorageClass", "STANDARD"),
                ],
            ),
            ("ContinuationToken", None),  # None leaves the element out
        ],
    )
    assert (
        body
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<ListBucketResult{NS}><Name>bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
            "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key>"
            "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
            "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
            "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
        ).encode()
    )


@pytest.mark.parametrize(
    "root, content, expected",
    [
        # GetBucketLocation in us-east-1 and an unversioned bucket: self-closing roots
        ("LocationConstraint", "", f"<LocationConstraint{NS}/>"),
        ("VersioningConfiguration", [], f"<VersioningConfiguration{NS}/>"),
        (
            "LocationConstraint",
            "eu-west-1",
            f"<LocationConstraint{NS}>eu-west-1</LocationConstraint>",
        ),
        ("Tagging", [("TagSet", [])], f"<Tagging{NS}><TagSet/></Tagging>"),
        ("R", {"A": 1, "B": True}, f"<R{NS}><A>1</A><B>true</B></R>"),
        ("R", [("A", [("B", [("C", "x")])])], f"<R{NS}><A><B><C>x</C></B></A></R>"),
        ("R", (("A", "1"), ("A", "2")), f"<R{NS}><A>1</A><A>2</A></R>"),
    ],
)
def test_render_values_and_empty_elements(root, content, expected):
    assert render(root, content) == (DECLARATION + expected).encode()


def test_render_attributes_as_a_third_item():
    body = render(
        "AccessControlPolicy",
        [
            (
                "Grantee",
                [("ID", "abc")],
                {"xmlns:xsi": XSI_NAMESPACE, "xsi:type": 'Canonical"User'},
            ),
        ],
    )
    assert (
        f'<Grantee xmlns:xsi="{XSI_NAMESPACE}" xsi:type="Canonical&quot;User">'
        "<ID>abc</ID></Grantee>"
    ).encode() in body


def test_rendered_documents_parse_back_to_the_same_text():
    keys = ["a&b", "<tag>", 'q"uote', "ключ", "  spaced  ", "line\nbreak", "cr\rkey"]
    body = render("Delete", [("Object", [("Key", k)]) for k in keys])
    root = parse_xml(body, "Delete")
    assert [find_text(o, "Key") for o in find_all(root, "Object")] == keys


def test_rendered_control_characters_are_s3s_references_not_raw_bytes():
    body = render("ListBucketResult", [("Contents", [("Key", "LA\x1b")])])
    assert b"<Key>LA&#x1b;</Key>" in body
    assert b"\x1b" not in body


@pytest.mark.parametrize(
    "code, message, fields, resource, expected_middle",
    [
        (
            "NoSuchKey",
            "The specified key does not exist.",
            {"Key": "a<b"},
            None,
            "<Key>a&lt;b</Key>",
        ),
        (
            "NoSuchBucket",
            "The specified bucket does not exist",
            {"BucketName": "b"},
            None,
            "<BucketName>b</BucketName>",
        ),
        # the body versitygw#2069 quotes from S3
        (
            "InvalidRange",
            "The requested range is not satisfiable",
            {"RangeRequested": "bytes=102-200", "ActualObjectSize": "100"},
            None,
            "<RangeRequested>bytes=102-200</RangeRequested><ActualObjectSize>100</ActualObjectSize>",
        ),
        (
            "NoSuchKey",
            "The resource you requested does not exist",
            {},
            "/mybucket/myfoto.jpg",
            "<Resource>/mybucket/myfoto.jpg</Resource>",
        ),
        (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            {"Condition": "If-Match"},
            "/b/k",
            "<Condition>If-Match</Condition><Resource>/b/k</Resource>",
        ),
        ("InternalError", "We encountered an internal error. Please try again.", {}, None, ""),
    ],
)
def test_render_error_uses_s3s_element_order(code, message, fields, resource, expected_middle):
    body = render_error(code, message, fields, "4442587FB7D0A2F9", "host+id/=", resource)
    assert (
        body
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>{expected_middle}"
            "<RequestId>4442587FB7D0A2F9</RequestId><HostId>host+id/=</HostId></Error>"
        ).encode()
    )


def test_render_error_renders_s3error_fields_directly():
    error = S3Error(
        "NotImplemented",
        Header="If-Match",
        additionalMessage="We don't accept the provided value of If-Match header for this API",
    )
    body = render_error(error.code, error.message, error.fields, "r", "h")
    root = ElementTree.fromstring(body)
    assert [child.tag for child in root] == [
        "Code",
        "Message",
        "Header",
        "additionalMessage",
        "RequestId",
        "HostId",
    ]
    assert root.findtext("additionalMessage").startswith("We don't accept")
