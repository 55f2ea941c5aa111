"""KMS keys' names (sealbox.store.kms_keys): how a request names a key (id,
key ARN, alias, alias ARN), what an alias may be. One case per answer."""

from __future__ import annotations

import pytest

from sealbox.store.kms_keys import (
    KeyReference,
    KmsInvalid,
    KmsNotFound,
    check_alias,
    key_arn,
    parse_reference,
)

ID = "0b9a8c1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c"


@pytest.mark.parametrize(("text", "reference"), [
    (ID, KeyReference(ID, None, None)),
    (key_arn("eu-west-1", "123456789012", ID), KeyReference(ID, None, "123456789012")),
    ("alias/reports", KeyReference(None, "alias/reports", None)),
    ("arn:aws:kms:us-east-1:123456789012:alias/reports",
     KeyReference(None, "alias/reports", "123456789012")),
])
def test_a_key_is_named_four_ways(text: str, reference: KeyReference) -> None:
    assert parse_reference(text) == reference


@pytest.mark.parametrize("text", ["", "testkey-1", "arn:aws:kms:us-east-1:12:key/" + ID,
                                  "arn:aws:kms:us-east-1:123456789012:key/nope", "x" * 3000])
def test_what_names_no_key_is_not_found(text: str) -> None:
    with pytest.raises(KmsNotFound):
        parse_reference(text)


def test_aliases_as_kms_allows_them() -> None:
    assert check_alias("reports") == "alias/reports"
    assert check_alias("alias/team/reports_2-b") == "alias/team/reports_2-b"
    assert check_alias("alias/aws/s3", managed=True) == "alias/aws/s3"
    for bad in ("alias/", "alias/has space", "alias/" + "a" * 251, "alias/aws/s3"):
        with pytest.raises(KmsInvalid):
            check_alias(bad)
