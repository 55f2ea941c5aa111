"""The encryption headers of a request (sealbox.api.s3.encryption), as S3
checks them: one case per answer, no server needed."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from sealbox.api.s3.encryption import check_request, customer_key, write_ask
from sealbox.errors import S3Error

KEY = os.urandom(32)
B64 = base64.b64encode(KEY).decode()
MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
C = "x-amz-server-side-encryption-customer-"
GOOD = {C + "algorithm": "AES256", C + "key": B64, C + "key-md5": MD5}


def refused(operation: str, headers: dict[str, str], *, secure: bool = True) -> tuple[str, int]:
    with pytest.raises(S3Error) as error:
        check_request(operation, headers, secure=secure)
    return error.value.code, error.value.status


@pytest.mark.parametrize(("operation", "headers", "answer"), [
    ("PutObject", {**GOOD, C + "key-md5": base64.b64encode(b"\0" * 16).decode()},
     ("InvalidArgument", 400)),
    ("PutObject", {C + "algorithm": "AES256", C + "key": B64}, ("InvalidArgument", 400)),
    ("PutObject", {C + "algorithm": "AES256"}, ("InvalidArgument", 400)),
    ("PutObject", {C + "key": B64, C + "key-md5": MD5}, ("InvalidArgument", 400)),
    ("PutObject", {**GOOD, C + "algorithm": "AES128"}, ("InvalidEncryptionAlgorithmError", 400)),
    ("PutObject", {**GOOD, C + "key": base64.b64encode(KEY[:16]).decode()},
     ("InvalidArgument", 400)),
    ("PutObject", {**GOOD, C + "key": "not base64!"}, ("InvalidArgument", 400)),
    ("PutObject", {**GOOD, "x-amz-server-side-encryption": "AES256"}, ("InvalidArgument", 400)),
    ("CreateMultipartUpload", {"x-amz-server-side-encryption": "aws:kms:dsse"},
     ("NotImplemented", 501)),
    # A KMS key or context without aws:kms (test_sse_kms_not_declared), or with AES256.
    ("PutObject", {"x-amz-server-side-encryption-aws-kms-key-id": "k"}, ("InvalidArgument", 400)),
    ("PutObject", {"x-amz-server-side-encryption": "AES256",
                   "x-amz-server-side-encryption-aws-kms-key-id": "k"}, ("InvalidArgument", 400)),
    ("CopyObject", {"x-amz-server-side-encryption-context": "e30="}, ("InvalidArgument", 400)),
    ("PutObject", {**GOOD, "x-amz-server-side-encryption": "aws:kms"}, ("InvalidArgument", 400)),
    # The context is base64 of a JSON object of strings.
    ("PutObject", {"x-amz-server-side-encryption": "aws:kms",
                   "x-amz-server-side-encryption-context": "not base64!"},
     ("InvalidArgument", 400)),
    ("PutObject", {"x-amz-server-side-encryption": "aws:kms",
                   "x-amz-server-side-encryption-context": base64.b64encode(b"[1]").decode()},
     ("InvalidArgument", 400)),
    ("PutObject", {"x-amz-server-side-encryption": "aws:kms",
                   "x-amz-server-side-encryption-context": base64.b64encode(b'{"a":1}').decode()},
     ("InvalidArgument", 400)),
    ("HeadObject", {"x-amz-server-side-encryption": "aws:kms"}, ("InvalidArgument", 400)),
    ("UploadPart", {"x-amz-server-side-encryption-aws-kms-key-id": "k"},
     ("InvalidArgument", 400)),
    ("PutObject", {"x-amz-server-side-encryption": "rot13"}, ("InvalidArgument", 400)),
    ("GetObject", {"x-amz-server-side-encryption": "AES256"}, ("InvalidArgument", 400)),
    ("UploadPart", {"x-amz-server-side-encryption": "AES256"}, ("InvalidArgument", 400)),
    ("CopyObject", {"x-amz-copy-source-server-side-encryption-customer-algorithm": "AES256"},
     ("InvalidArgument", 400)),
])
def test_what_s3_refuses(operation: str, headers: dict[str, str],
                         answer: tuple[str, int]) -> None:
    assert refused(operation, headers) == answer


def test_a_customer_key_over_plain_http_is_refused_unless_allowed() -> None:
    assert refused("GetObject", GOOD, secure=False) == ("InvalidRequest", 400)
    check_request("GetObject", GOOD, secure=False, allow_http=True)


def test_the_key_is_never_echoed_in_an_error() -> None:
    with pytest.raises(S3Error) as error:
        customer_key({**GOOD, C + "key": base64.b64encode(KEY[:31]).decode()})
    assert B64[:20] not in str(error.value.fields) and KEY[:31].hex() not in str(error.value)


def test_what_a_write_asks_for() -> None:
    assert write_ask({}).sse_s3 is False and write_ask({}).customer is None
    assert write_ask({"x-amz-server-side-encryption": "AES256"}).sse_s3
    asked = write_ask(GOOD).customer
    assert asked is not None and asked.key == KEY and asked.md5 == MD5
    assert "key=" not in repr(asked)
    check_request("ListObjects", {"x-amz-server-side-encryption": "nonsense"}, secure=False)


def test_what_a_kms_write_asks_for() -> None:
    context = base64.b64encode(b'{"team":"a"}').decode()
    ask = write_ask({"x-amz-server-side-encryption": "aws:kms",
                     "x-amz-server-side-encryption-aws-kms-key-id": "alias/k",
                     "x-amz-server-side-encryption-context": context,
                     "x-amz-server-side-encryption-bucket-key-enabled": "true"}).kms
    assert ask is not None and (ask.key, ask.context, ask.bucket_key) == (
        "alias/k", '{"team":"a"}', True)
    no_key = write_ask({"x-amz-server-side-encryption": "aws:kms"}).kms
    assert no_key is not None and no_key.key is None  # the account's aws/s3 key
    # UploadPart may repeat the upload's KMS headers (ceph/s3-tests do): ignored.
    check_request("UploadPart", {"x-amz-server-side-encryption": "aws:kms",
                                 "x-amz-server-side-encryption-aws-kms-key-id": "k"},
                  secure=False)
