"""The IAM Query API's parameters: form and query parsing, IAM's checks and
IAM's validation wording."""

from __future__ import annotations

import pytest

from sealbox.api.iam.params import IamError, Params, field_name, parse_form

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def test_form_body_is_read_as_botocore_sends_it() -> None:
    body = b"Action=CreateUser&Version=2010-05-08&UserName=al%2Bice&Path=%2Fa+b%2F"
    assert parse_form(body, "", FORM) == {
        "Action": "CreateUser", "Version": "2010-05-08", "UserName": "al+ice", "Path": "/a b/",
    }


def test_query_string_parameters_count_and_the_body_wins() -> None:
    params = parse_form(b"UserName=fromBody", "Action=GetUser&UserName=fromQuery", FORM)
    assert params == {"Action": "GetUser", "UserName": "fromBody"}


def test_first_value_of_a_repeated_name_wins() -> None:
    assert parse_form(b"A=1&A=2", "", FORM) == {"A": "1"}


def test_body_without_content_type_is_read_as_a_form() -> None:
    assert parse_form(b"Action=ListUsers", "", None) == {"Action": "ListUsers"}


def test_body_of_another_media_type_is_not_parameters() -> None:
    assert parse_form(b'{"Action": "ListUsers"}', "", "application/json") == {}


def test_empty_value_is_kept() -> None:
    assert parse_form(b"Marker=&Action=ListUsers", "", FORM)["Marker"] == ""


@pytest.mark.parametrize("body", ["Action=Caf\u00e9".encode(), b"\xff\xfe=1"])
def test_raw_non_ascii_body_is_malformed(body: bytes) -> None:
    with pytest.raises(IamError) as info:
        parse_form(body, "", FORM)
    assert info.value.code == "MalformedQueryString" and info.value.status == 400


def test_percent_encoded_invalid_utf8_is_malformed() -> None:
    with pytest.raises(IamError) as info:
        parse_form(b"UserName=%ff%fe", "", FORM)
    assert info.value.code == "MalformedQueryString"


def test_percent_encoded_utf8_is_decoded() -> None:
    assert parse_form(b"Description=caf%C3%A9", "", FORM) == {"Description": "café"}


def test_missing_required_parameter_is_iams_null_validation_error() -> None:
    with pytest.raises(IamError) as info:
        Params({}).required("UserName")
    assert info.value.code == "ValidationError" and info.value.status == 400
    assert info.value.message == (
        "1 validation error detected: Value null at 'userName' failed to satisfy "
        "constraint: Member must not be null"
    )


@pytest.mark.parametrize(("given", "expected"), [(None, 100), ("1", 1), ("1000", 1000)])
def test_max_items_default_and_bounds(given: str | None, expected: int) -> None:
    assert Params({} if given is None else {"MaxItems": given}).max_items() == expected


@pytest.mark.parametrize(("given", "constraint"), [
    ("0", "greater than or equal to 1"),
    ("1001", "less than or equal to 1000"),
    ("-1", "must be an integer"),
    ("ten", "must be an integer"),
    ("99999999999", "must be an integer"),
])
def test_max_items_out_of_range_is_a_validation_error(given: str, constraint: str) -> None:
    with pytest.raises(IamError) as info:
        Params({"MaxItems": given}).max_items()
    assert info.value.code == "ValidationError" and constraint in info.value.message
    assert "'maxItems'" in info.value.message


@pytest.mark.parametrize("marker", ["\x00", "x" * 321, "\u0100"])
def test_bad_marker_is_a_validation_error(marker: str) -> None:
    with pytest.raises(IamError):
        Params({"Marker": marker}).marker()


def test_marker_absent_is_the_first_page() -> None:
    assert Params({}).marker() == ""


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("FALSE", False)])
def test_booleans(value: str, expected: bool) -> None:
    assert Params({"OnlyAttached": value}).boolean("OnlyAttached") is expected


def test_bad_boolean_is_a_validation_error() -> None:
    with pytest.raises(IamError) as info:
        Params({"OnlyAttached": "yes"}).boolean("OnlyAttached")
    assert "'onlyAttached'" in info.value.message


def test_enum_outside_its_set_names_the_set() -> None:
    with pytest.raises(IamError) as info:
        Params({"Status": "On"}).choice("Status", ("Active", "Inactive"))
    assert info.value.message.endswith("Member must satisfy enum value set: [Active, Inactive]")


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(IamError) as info:
        Params({"MaxItems": "x" * 1000}).max_items()
    assert len(info.value.message) < 400


def test_field_names_are_lower_camel_case() -> None:
    assert field_name("PolicyDocument") == "policyDocument"


def test_params_repr_shows_names_only() -> None:
    assert "secret" not in repr(Params({"PolicyDocument": "secret"}))
