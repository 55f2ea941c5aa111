"""POST policies: AWS's worked example, V2 signatures made by hand, every
condition operator, and every refusal in S3's words."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.auth import post_policy
from sealbox.auth.post_policy import Form, SizeRange, authenticate_form, decode_policy
from sealbox.auth.principal import Credential, root_principal
from sealbox.errors import S3Error

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "post_policy"
EXAMPLE = json.loads((VECTORS / "aws-example.json").read_text())
EXAMPLE_POLICY = (VECTORS / "policy.b64").read_text().strip()

ACCESS_KEY = EXAMPLE["access_key"]
SECRET_KEY = EXAMPLE["secret_key"]
CREDENTIAL = Credential(ACCESS_KEY, SECRET_KEY, root_principal(ACCESS_KEY))
REGION = "us-east-1"
SCOPE = f"{ACCESS_KEY}/20151229/us-east-1/s3/aws4_request"


def lookup(key: str) -> Credential | None:
    return CREDENTIAL if key == ACCESS_KEY else None


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def error(fn, *args) -> S3Error:
    with pytest.raises(S3Error) as caught:
        fn(*args)
    return caught.value


def example_form() -> Form:
    fields = [tuple(pair) for pair in EXAMPLE["fields"]]
    fields += [("Policy", EXAMPLE_POLICY), ("X-Amz-Signature", EXAMPLE["signature"])]
    return Form(tuple(fields))  # type: ignore[arg-type]


def with_bucket(form: Form, bucket: str, key: str) -> Form:
    """The form as the handler checks it: the URL's bucket, ${filename} replaced."""
    rest = [(n, v) for n, v in form.fields if n.lower() not in ("bucket", "key")]
    return Form((("bucket", bucket), ("key", key), *rest))


def v2_form(policy_b64: str, fields: list[tuple[str, str]], secret: str = SECRET_KEY) -> Form:
    # "Constructing a signature" (HTTPPOSTForms, V2): base64(HMAC-SHA1(secret, policy)).
    signature = base64.b64encode(
        hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
    return Form(tuple(fields) + (("AWSAccessKeyId", ACCESS_KEY), ("policy", policy_b64),
                                 ("signature", signature)))


# --- AWS's worked example ------------------------------------------------------------


def test_aws_example_policy_signs_to_the_documented_signature() -> None:
    from sealbox.auth.sigv4 import keys

    key = keys.signing_key(SECRET_KEY, EXAMPLE["date"], REGION)
    assert keys.sign(key, EXAMPLE_POLICY) == EXAMPLE["signature"]


def test_aws_example_form_authenticates_as_its_signer() -> None:
    auth = authenticate_form(example_form(), lookup, REGION)
    assert auth.principal == CREDENTIAL.principal
    assert (auth.auth_type, auth.signature_version) == ("POST", "AWS4-HMAC-SHA256")
    assert auth.signed_at == at("2015-12-29T00:00:00Z")


def test_aws_example_policy_is_met_until_it_expires() -> None:
    policy = decode_policy(EXAMPLE_POLICY)
    assert policy.expiration == at("2015-12-30T12:00:00Z")
    form = with_bucket(example_form(), "sigv4examplebucket", "user/user1/photo.jpg")
    assert post_policy.evaluate_policy(policy, form, at("2015-12-30T12:00:00Z")) == SizeRange()
    expired = error(post_policy.evaluate_policy, policy, form, at("2015-12-30T12:00:01Z"))
    assert (expired.code, expired.status) == ("AccessDenied", 403)
    assert expired.message == "Invalid according to Policy: Policy expired."


def test_aws_example_policy_fails_for_another_bucket_naming_the_condition() -> None:
    policy = decode_policy(EXAMPLE_POLICY)
    form = with_bucket(example_form(), "otherbucket", "user/user1/photo.jpg")
    failed = error(post_policy.evaluate_policy, policy, form, at("2015-12-29T12:00:00Z"))
    assert failed.message == ("Invalid according to Policy: Policy Condition failed: "
                              '["eq", "$bucket", "sigv4examplebucket"]')


def test_aws_example_policy_changed_after_signing_is_a_signature_mismatch() -> None:
    fields = dict(example_form().fields)
    fields["Policy"] = EXAMPLE_POLICY[:-4] + "fQ=="
    failed = error(authenticate_form, Form(tuple(fields.items())), lookup, REGION)
    assert (failed.code, failed.status) == ("SignatureDoesNotMatch", 403)
    assert failed.fields["StringToSign"] == fields["Policy"]
    assert failed.fields["AWSAccessKeyId"] == ACCESS_KEY


# --- who signed ------------------------------------------------------------------------


def test_form_without_signature_fields_is_anonymous() -> None:
    auth = authenticate_form(Form((("key", "k"), ("policy", "e30="))), lookup, REGION)
    assert auth.principal.is_anonymous


@pytest.mark.parametrize("drop", ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                  "X-Amz-Signature", "Policy"])
def test_v4_form_missing_a_field_names_it(drop: str) -> None:
    form = Form(tuple((n, v) for n, v in example_form().fields if n.lower() != drop.lower()))
    failed = error(authenticate_form, form, lookup, REGION)
    assert (failed.code, failed.status) == ("InvalidArgument", 400)
    assert failed.message == (f"Bucket POST must contain a field named '{drop}'.  If it is "
                              "specified, please check the order of the fields.")
    assert failed.fields == {"ArgumentName": drop, "ArgumentValue": ""}


@pytest.mark.parametrize(
    ("name", "value", "code", "message"),
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA1", "InvalidArgument",
         'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
        ("X-Amz-Date", "2015-12-29", "InvalidArgument",
         "X-Amz-Date must be formated via ISO8601 Long format"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/20151229/eu-west-1/s3/aws4_request",
         "InvalidArgument", "the region 'eu-west-1' is wrong; expecting 'us-east-1'"),
        ("X-Amz-Credential", "AKIDUNKNOWN/20151229/us-east-1/s3/aws4_request",
         "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        ("X-Amz-Signature", "0" * 64, "SignatureDoesNotMatch",
         ("The request signature we calculated does not match the signature you provided. "
          "Check your key and signing method.")),
    ],
)
def test_v4_form_refusals(name: str, value: str, code: str, message: str) -> None:
    fields = dict(example_form().fields)
    fields[name] = value
    failed = error(authenticate_form, Form(tuple(fields.items())), lookup, REGION)
    assert (failed.code, failed.message) == (code, message)


def test_v2_policy_signed_by_hand_authenticates() -> None:
    auth = authenticate_form(v2_form(EXAMPLE_POLICY, [("key", "k")]), lookup, REGION)
    assert auth.principal == CREDENTIAL.principal
    assert (auth.auth_type, auth.signature_version) == ("POST", "AWS")


def test_v2_wrong_secret_and_unknown_key_are_refused() -> None:
    wrong = error(authenticate_form, v2_form(EXAMPLE_POLICY, [], secret="nope"), lookup, REGION)
    assert wrong.code == "SignatureDoesNotMatch"
    unknown = error(authenticate_form, v2_form(EXAMPLE_POLICY, []), lambda _k: None, REGION)
    assert (unknown.code, unknown.fields) == ("InvalidAccessKeyId", {"AWSAccessKeyId": ACCESS_KEY})


def test_v2_missing_signature_names_it() -> None:
    form = Form((("key", "k"), ("AWSAccessKeyId", ACCESS_KEY), ("policy", EXAMPLE_POLICY)))
    failed = error(authenticate_form, form, lookup, REGION)
    assert (failed.code, failed.fields["ArgumentName"]) == ("InvalidArgument", "Signature")


# --- the policy document ----------------------------------------------------------------


def b64(document: object) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    return base64.b64encode(text.encode()).decode()


EXP = "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("not base64!", "invalid Base64 encoding."),
        (b64("{not json"), "Invalid JSON."),
        (b64([1, 2]), "Invalid JSON."),
        (b64({"conditions": []}), "Policy missing expiration."),
        (b64({"expiration": EXP}), "Policy missing conditions."),
        (b64({"EXPIRATION": EXP, "conditions": []}), "Unexpected: 'expiration'"),
        (b64({"expiration": EXP, "CONDITIONS": []}), "Unexpected: 'conditions'"),
        (b64({"expiration": "2030-01-01 00:00:00+00:00", "conditions": []}),
         "Invalid 'expiration' value: '2030-01-01 00:00:00+00:00'"),
        (b64({"expiration": "2030-01-01T00:00:00+02:00", "conditions": []}),
         "Invalid 'expiration' value: '2030-01-01T00:00:00+02:00'"),
        (b64({"expiration": 1893456000, "conditions": []}),
         "Invalid 'expiration' value: '1893456000'"),
        (b64({"expiration": EXP, "conditions": {}}), "Invalid 'conditions' value: must be a List."),
        (b64({"expiration": EXP, "conditions": [{}]}),
         "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
        (b64({"expiration": EXP, "conditions": [{"acl": 1}]}),
         "Invalid Simple-Condition: value must be a string."),
        (b64({"expiration": EXP, "conditions": [["content-length-range", 0]]}),
         "Invalid content-length-range: wrong number of arguments."),
        (b64({"expiration": EXP, "conditions": [["content-length-range", -1, 0]]}),
         "Invalid JSON."),
        (b64({"expiration": EXP, "conditions": [["content-length-range", 512.0, 1000]]}),
         "Invalid JSON."),
        (b64({"expiration": EXP, "conditions": [["in", "$key", "a"]]}),
         "Invalid Condition: unknown operation 'in'."),
        (b64({"expiration": EXP, "conditions": [[]]}),
         "Invalid Condition: missing operation identifier."),
        (b64({"expiration": EXP, "conditions": ["key"]}),
         "Invalid condition test: must be a List or Object."),
    ],
)
def test_invalid_policies_are_invalid_policy_document(encoded: str, message: str) -> None:
    failed = error(decode_policy, encoded)
    assert (failed.code, failed.status) == ("InvalidPolicyDocument", 400)
    assert failed.message == "Invalid Policy: " + message


def test_a_lone_surrogate_escape_is_invalid_json() -> None:
    # b64() writes U+D800 as the JSON escape "\\ud800", which parses in Python
    # but is not text; the condition it sits in must never be compared.
    encoded = b64({"expiration": EXP, "conditions": [["eq", "$key", "\ud800"]]})
    failed = error(decode_policy, encoded)
    assert (failed.code, failed.status, failed.message) == (
        "InvalidPolicyDocument", 400, "Invalid Policy: Invalid JSON.")


def test_expiration_takes_fractional_seconds() -> None:
    policy = decode_policy(b64({"expiration": "2030-01-01T00:00:00.250Z", "conditions": []}))
    assert policy.expiration == datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)


# --- conditions ----------------------------------------------------------------------------

NOW = at("2020-01-01T00:00:00Z")
BASE = [{"bucket": "b"}, ["starts-with", "$key", ""]]


def check(conditions: list, fields: list[tuple[str, str]]) -> SizeRange:
    policy = decode_policy(b64({"expiration": EXP, "conditions": BASE + conditions}))
    return post_policy.evaluate_policy(policy, Form((("bucket", "b"), ("key", "k"), *fields)),
                                       NOW)


@pytest.mark.parametrize(
    ("condition", "fields"),
    [
        ({"acl": "private"}, [("acl", "private")]),
        (["eq", "$acl", "private"], [("acl", "private")]),
        (["starts-with", "$Content-Type", "image/"], [("Content-Type", "image/png")]),
        (["starts-with", "$x-amz-meta-tag", ""], [("x-amz-meta-tag", "")]),
        (["starts-with", "$x-amz-meta-tag", ""], [("x-amz-meta-tag", "anything")]),
        (["starts-with", "$Content-Type", "image/"], [("Content-Type", "image/png, image/gif")]),
        (["StArTs-WiTh", "$CoNtEnT-TyPe", "text/"], [("content-type", "text/plain")]),
        ({"AcL": "private"}, [("aCl", "private")]),
    ],
)
def test_conditions_that_hold(condition: object, fields: list[tuple[str, str]]) -> None:
    assert check([condition], fields) == SizeRange()


def test_escaped_values_compare_literally() -> None:
    # s3-tests test_post_object_escaped_field_values: key "\$foo.txt".
    policy = decode_policy(b64({"expiration": EXP, "conditions": [
        {"bucket": "b"}, ["starts-with", "$key", "\\$foo"]]}))
    form = Form((("bucket", "b"), ("key", "\\$foo.txt")))
    assert post_policy.evaluate_policy(policy, form, NOW) == SizeRange()


@pytest.mark.parametrize(
    ("condition", "fields", "quoted"),
    [
        ({"acl": "private"}, [("acl", "public-read")], '["eq", "$acl", "private"]'),
        (["eq", "$x-amz-meta-foo", ""], [("x-amz-meta-foo", "barclamp")],
         '["eq", "$x-amz-meta-foo", ""]'),
        (["starts-with", "$Content-Type", "image/"], [("Content-Type", "image/png, text/html")],
         '["starts-with", "$Content-Type", "image/"]'),
        (["starts-with", "$x-amz-meta-foo", "bar"], [],
         '["starts-with", "$x-amz-meta-foo", "bar"]'),
        (["starts-with", "$x-amz-meta-tag", ""], [], '["starts-with", "$x-amz-meta-tag", ""]'),
        (["eq", "acl", "private"], [("acl", "private")], '["eq", "acl", "private"]'),
    ],
)
def test_conditions_that_fail_are_quoted_in_the_error(
        condition: object, fields: list[tuple[str, str]], quoted: str) -> None:
    failed = error(check, [condition], fields)
    assert (failed.code, failed.status) == ("AccessDenied", 403)
    assert failed.message == "Invalid according to Policy: Policy Condition failed: " + quoted


def test_fields_no_condition_covers_are_extra_input_fields() -> None:
    failed = error(check, [], [("x-amz-meta-note", "hi")])
    assert (failed.code, failed.status) == ("AccessDenied", 403)
    assert failed.message == "Invalid according to Policy: Extra input fields: x-amz-meta-note"


def test_policy_without_bucket_condition_leaves_bucket_uncovered() -> None:
    policy = decode_policy(b64({"expiration": EXP, "conditions": [["starts-with", "$key", ""]]}))
    failed = error(post_policy.evaluate_policy, policy, Form((("bucket", "b"), ("key", "k"))),
                   NOW)
    assert failed.message == "Invalid according to Policy: Extra input fields: bucket"


def test_signature_policy_file_and_x_ignore_fields_need_no_condition() -> None:
    assert check([], [("x-amz-signature", "s"), ("Policy", "p"), ("file", "f"),
                      ("X-Ignore-Submit", "Upload"), ("signature", "s"),
                      ("AWSAccessKeyId", "a")]) == SizeRange()


def test_content_length_ranges_narrow_each_other() -> None:
    assert check([["content-length-range", 10, 100], ["content-length-range", "20", 50]],
                 []) == SizeRange(20, 50)


@pytest.mark.parametrize(
    ("size", "code", "fields"),
    [
        (101, "EntityTooLarge", {"ProposedSize": "101", "MaxSizeAllowed": "100"}),
        (9, "EntityTooSmall", {"ProposedSize": "9", "MinSizeAllowed": "10"}),
    ],
)
def test_sizes_outside_the_range_are_refused_with_both_sizes(
        size: int, code: str, fields: dict[str, str]) -> None:
    failed = error(SizeRange(10, 100).check, size)
    assert (failed.code, failed.status, failed.fields) == (code, 400, fields)


def test_sizes_at_the_bounds_are_accepted() -> None:
    SizeRange(10, 100).check(10)
    SizeRange(10, 100).check(100)
    SizeRange(0, 0).check(0)
