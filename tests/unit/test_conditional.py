"""Conditional headers as S3 evaluates them.

``READ_TABLE`` is versitygw's ``GetObject_conditional_reads`` table (the
same one drives HeadObject and, in copy form, CopyObject), which crosses
every header being absent, true or false; the order it implies is RFC 9110
§13.2.2's. LocalStack's AWS-validated tests add the condition names, the
second precision, future dates and the copy and write variants.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealbox.errors import S3Error
from sealbox.http.conditional import (
    DeleteCondition,
    WritePrecondition,
    conditional_conflict,
    copy_source_conditions,
    delete_preconditions,
    evaluate_get,
    put_preconditions,
)
from sealbox.http.dates import format_http_date

LAST_MODIFIED = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
NOW = LAST_MODIFIED + timedelta(seconds=5)
ETAG = "9e107d9d372bb6826bd81d3542a419d6"
QUOTED = f'"{ETAG}"'

BEFORE = format_http_date(LAST_MODIFIED - timedelta(days=3))  # object modified since
AFTER = format_http_date(NOW)  # object not modified since
OTHER = '"invalid_etag"'

OK, NOT_MODIFIED, FAILED = "ok", "304", "412"

# (if-match, if-none-match, if-modified-since, if-unmodified-since) -> outcome
READ_TABLE = [
    # If-Match false: 412 whatever else is sent
    *[
        (OTHER, inm, ims, ius, FAILED)
        for inm in (OTHER, QUOTED, None)
        for ims in (BEFORE, AFTER, None)
        for ius in (BEFORE, AFTER, None)
    ],
    # If-Match true, If-None-Match false: OK (If-Modified-Since and
    # If-Unmodified-Since both ignored)
    *[
        (QUOTED, OTHER, ims, ius, OK)
        for ims in (BEFORE, AFTER, None)
        for ius in (BEFORE, AFTER, None)
    ],
    # If-Match true, If-None-Match true (matches): 304
    *[
        (QUOTED, QUOTED, ims, ius, NOT_MODIFIED)
        for ims in (BEFORE, AFTER, None)
        for ius in (BEFORE, AFTER, None)
    ],
    # If-Match true alone: If-Unmodified-Since ignored, If-Modified-Since counts
    (QUOTED, None, BEFORE, BEFORE, OK),
    (QUOTED, None, BEFORE, AFTER, OK),
    (QUOTED, None, BEFORE, None, OK),
    (QUOTED, None, AFTER, BEFORE, NOT_MODIFIED),
    (QUOTED, None, AFTER, AFTER, NOT_MODIFIED),
    (QUOTED, None, AFTER, None, NOT_MODIFIED),
    (QUOTED, None, None, BEFORE, OK),
    (QUOTED, None, None, AFTER, OK),
    (QUOTED, None, None, None, OK),
    # If-None-Match false alone: If-Modified-Since ignored, If-Unmodified-Since counts
    (None, OTHER, BEFORE, BEFORE, FAILED),
    (None, OTHER, BEFORE, AFTER, OK),
    (None, OTHER, BEFORE, None, OK),
    (None, OTHER, AFTER, BEFORE, FAILED),
    (None, OTHER, AFTER, AFTER, OK),
    (None, OTHER, AFTER, None, OK),
    (None, OTHER, None, BEFORE, FAILED),
    (None, OTHER, None, AFTER, OK),
    (None, OTHER, None, None, OK),
    # If-None-Match matches: 304, unless If-Unmodified-Since fails first
    (None, QUOTED, BEFORE, BEFORE, FAILED),
    (None, QUOTED, BEFORE, AFTER, NOT_MODIFIED),
    (None, QUOTED, BEFORE, None, NOT_MODIFIED),
    (None, QUOTED, AFTER, BEFORE, FAILED),
    (None, QUOTED, AFTER, AFTER, NOT_MODIFIED),
    (None, QUOTED, AFTER, None, NOT_MODIFIED),
    (None, QUOTED, None, BEFORE, FAILED),
    (None, QUOTED, None, AFTER, NOT_MODIFIED),
    (None, QUOTED, None, None, NOT_MODIFIED),
    # dates alone
    (None, None, BEFORE, BEFORE, FAILED),
    (None, None, BEFORE, AFTER, OK),
    (None, None, BEFORE, None, OK),
    (None, None, AFTER, BEFORE, FAILED),
    (None, None, AFTER, AFTER, NOT_MODIFIED),
    (None, None, AFTER, None, NOT_MODIFIED),
    (None, None, None, BEFORE, FAILED),
    (None, None, None, AFTER, OK),
    (None, None, None, None, OK),
    # unquoted ETags match too (versitygw "without quotes" rows; LocalStack
    # "etag-missing-quotes")
    (ETAG, OTHER, AFTER, BEFORE, OK),
    (ETAG, ETAG, None, None, NOT_MODIFIED),
    (None, ETAG, BEFORE, AFTER, NOT_MODIFIED),
    # "*" (versitygw asterisk rows)
    ("*", None, None, None, OK),
    ("*", None, AFTER, None, NOT_MODIFIED),
    ("*", OTHER, None, None, OK),
    ("*", QUOTED, None, None, NOT_MODIFIED),
    ("*", "*", None, None, NOT_MODIFIED),
    ("*", "*", None, BEFORE, NOT_MODIFIED),
    (None, "*", None, None, NOT_MODIFIED),
    (None, "*", BEFORE, None, NOT_MODIFIED),
    (None, "*", None, AFTER, NOT_MODIFIED),
    (None, "*", None, BEFORE, FAILED),
    (OTHER, "*", None, None, FAILED),
]


def _read_headers(if_match, if_none_match, if_modified_since, if_unmodified_since, prefix=""):
    headers = {}
    for name, value in [
        ("if-match", if_match),
        ("if-none-match", if_none_match),
        ("if-modified-since", if_modified_since),
        ("if-unmodified-since", if_unmodified_since),
    ]:
        if value is not None:
            headers[prefix + name] = value
    return headers


def _get(headers):
    try:
        return NOT_MODIFIED if evaluate_get(headers, ETAG, LAST_MODIFIED, now=NOW) else OK
    except S3Error as error:
        assert (error.code, error.status) == ("PreconditionFailed", 412)
        return FAILED


@pytest.mark.parametrize("im, inm, ims, ius, expected", READ_TABLE)
def test_get_preconditions_follow_rfc9110_order_as_s3_does(im, inm, ims, ius, expected):
    assert _get(_read_headers(im, inm, ims, ius)) == expected


@pytest.mark.parametrize("im, inm, ims, ius, expected", READ_TABLE)
def test_copy_source_preconditions_fail_with_412_where_get_would_304(im, inm, ims, ius, expected):
    headers = _read_headers(im, inm, ims, ius, prefix="x-amz-copy-source-")
    try:
        copy_source_conditions(headers, QUOTED, LAST_MODIFIED, now=NOW)
        outcome = OK
    except S3Error as error:
        assert (error.code, error.status) == ("PreconditionFailed", 412)
        outcome = FAILED
    assert outcome == (OK if expected == OK else FAILED)


# LocalStack test_s3_get_object_preconditions / TestS3CopySourcePreconditions:
# all four headers at once, then one fewer each time, name the failing one.
WRONG_UNMODIFIED_SINCE = format_http_date(NOW - timedelta(days=1))
ELIMINATION = [
    (_read_headers('"etag123"', QUOTED, AFTER, WRONG_UNMODIFIED_SINCE), "If-Match"),
    (_read_headers(None, QUOTED, AFTER, WRONG_UNMODIFIED_SINCE), "If-Unmodified-Since"),
    (_read_headers(None, QUOTED, AFTER, None), "If-None-Match"),
    (_read_headers(None, None, AFTER, None), "If-Modified-Since"),
]


@pytest.mark.parametrize("headers, condition", ELIMINATION)
def test_get_412_names_the_failed_condition(headers, condition):
    if condition in ("If-None-Match", "If-Modified-Since"):
        assert evaluate_get(headers, ETAG, LAST_MODIFIED, now=NOW) is True
        return
    with pytest.raises(S3Error) as caught:
        evaluate_get(headers, ETAG, LAST_MODIFIED, now=NOW)
    assert caught.value.fields == {"Condition": condition}
    assert caught.value.message == "At least one of the pre-conditions you specified did not hold"


@pytest.mark.parametrize("headers, condition", ELIMINATION)
def test_copy_source_412_names_the_header_as_s3_does(headers, condition):
    prefixed = {f"x-amz-copy-source-{name}": value for name, value in headers.items()}
    with pytest.raises(S3Error) as caught:
        copy_source_conditions(prefixed, ETAG, LAST_MODIFIED, now=NOW)
    assert caught.value.status == 412
    assert caught.value.fields == {"Condition": f"x-amz-copy-source-{condition}"}


def test_copy_source_if_match_true_overrides_a_false_if_unmodified_since():
    # CopyObject API reference: "S3 returns 200 OK and copies the data".
    headers = {
        "x-amz-copy-source-if-match": QUOTED,
        "x-amz-copy-source-if-unmodified-since": BEFORE,
    }
    copy_source_conditions(headers, ETAG, LAST_MODIFIED, now=NOW)


def test_copy_source_if_none_match_false_with_if_modified_since_true_is_412():
    headers = {
        "x-amz-copy-source-if-none-match": QUOTED,
        "x-amz-copy-source-if-modified-since": BEFORE,
    }
    with pytest.raises(S3Error) as caught:
        copy_source_conditions(headers, ETAG, LAST_MODIFIED, now=NOW)
    assert caught.value.fields == {"Condition": "x-amz-copy-source-If-None-Match"}


def test_copy_ignores_plain_if_headers_meant_for_the_destination():
    copy_source_conditions({"if-match": OTHER, "if-none-match": "*"}, ETAG, LAST_MODIFIED, now=NOW)


@pytest.mark.parametrize(
    "headers, expected",
    [
        # dates compare in whole seconds: Last-Modified itself (LocalStack
        # "...-is-object" cases)
        ({"if-unmodified-since": format_http_date(LAST_MODIFIED)}, OK),
        ({"if-modified-since": format_http_date(LAST_MODIFIED)}, NOT_MODIFIED),
        ({"if-modified-since": format_http_date(LAST_MODIFIED - timedelta(seconds=1))}, OK),
        ({"if-unmodified-since": format_http_date(LAST_MODIFIED - timedelta(seconds=1))}, FAILED),
        # a future If-Modified-Since is ignored (LocalStack
        # "obj-ignore-future-modified-since"; RFC 9110 §13.1.3)
        ({"if-modified-since": format_http_date(NOW + timedelta(days=1))}, OK),
        # an invalid date is ignored (RFC 9110 §13.1.3, §13.1.4)
        ({"if-modified-since": "not a date"}, OK),
        ({"if-unmodified-since": "2024-05-01T00:00:00Z"}, OK),
        ({"if-unmodified-since": ""}, OK),
        # the obsolete date forms are honoured
        ({"if-modified-since": "Wednesday, 01-May-24 12:00:00 GMT"}, NOT_MODIFIED),
        ({"if-modified-since": "Wed May  1 12:00:00 2024"}, NOT_MODIFIED),
    ],
)
def test_get_dates_compare_whole_seconds_and_ignore_invalid_or_future(headers, expected):
    assert _get(headers) == expected


@pytest.mark.parametrize(
    "header, expected",
    [
        # RFC 9110 §13.1.1 / §13.1.2 examples of ETag lists
        (f'"xyzzy", {QUOTED}, "r2d2xxxx"', True),
        (f'"xyzzy",{ETAG}', True),
        ('"xyzzy", "r2d2xxxx", "c3piozzzz"', False),
        (f"  {QUOTED}  ", True),
    ],
)
def test_etag_lists_match_any_member(header, expected):
    assert _get({"if-none-match": header}) == (NOT_MODIFIED if expected else OK)
    assert _get({"if-match": header}) == (OK if expected else FAILED)


def test_if_none_match_compares_weakly_if_match_strongly():
    weak = f"W/{QUOTED}"
    assert _get({"if-none-match": weak}) == NOT_MODIFIED  # RFC 9110 §13.1.2
    assert _get({"if-match": weak}) == FAILED  # RFC 9110 §13.1.1


def test_get_without_conditions_proceeds():
    assert evaluate_get({"range": "bytes=0-1"}, ETAG, LAST_MODIFIED, now=NOW) is False


def test_naive_datetimes_are_taken_as_utc():
    naive = LAST_MODIFIED.replace(tzinfo=None)
    headers = {"if-modified-since": format_http_date(LAST_MODIFIED)}
    assert evaluate_get(headers, ETAG, naive, now=NOW.replace(tzinfo=None)) is True


# --- conditional writes (LocalStack TestS3ObjectWritePrecondition) ------------------


@pytest.mark.parametrize(
    "headers, existing, expected",
    [
        ({}, None, None),
        ({}, ETAG, None),
        ({"if-none-match": "*"}, None, WritePrecondition(if_none_match="*")),
        ({"if-match": QUOTED}, ETAG, WritePrecondition(if_match=QUOTED)),
        ({"if-match": ETAG}, QUOTED, WritePrecondition(if_match=ETAG)),
        ({"content-type": "text/plain"}, ETAG, None),
        # RFC 9110's other forms, as ceph/s3-tests test_put_object_if_match expects
        ({"if-match": "*"}, ETAG, WritePrecondition(if_match="*")),
        ({"if-match": f'"other", {QUOTED}'}, ETAG, WritePrecondition(if_match=f'"other", {QUOTED}')),
        ({"if-none-match": '"other"'}, ETAG, WritePrecondition(if_none_match='"other"')),
        ({"if-none-match": QUOTED}, None, WritePrecondition(if_none_match=QUOTED)),
    ],
)
def test_put_preconditions_that_hold_return_what_the_commit_must_recheck(
    headers, existing, expected
):
    assert put_preconditions(headers, existing, key="k") == expected


@pytest.mark.parametrize(
    "headers, existing, code, status, fields",
    [
        # put-obj-if-none-match
        ({"if-none-match": "*"}, ETAG, "PreconditionFailed", 412, {"Condition": "If-None-Match"}),
        # put-obj-if-match-wrong-etag
        (
            {"if-match": '"d41d8cd98f00b204e9800998ecf8427e"'},
            ETAG,
            "PreconditionFailed",
            412,
            {"Condition": "If-Match"},
        ),
        # put-obj-if-match-key-not-exists / put-obj-if-match-bad-value
        ({"if-match": QUOTED}, None, "NoSuchKey", 404, {"Key": "k"}),
        ({"if-match": "abcdef"}, None, "NoSuchKey", 404, {"Key": "k"}),
        # an If-None-Match naming the current ETag, weakly or not
        ({"if-none-match": QUOTED}, ETAG, "PreconditionFailed", 412,
         {"Condition": "If-None-Match"}),
        ({"if-none-match": f'"x", W/{QUOTED}'}, ETAG, "PreconditionFailed", 412,
         {"Condition": "If-None-Match"}),
        # If-Match: * holds for any object, not for none
        ({"if-match": "*"}, None, "NoSuchKey", 404, {"Key": "k"}),
        # If-Match compares strongly: a weak tag never matches
        ({"if-match": f"W/{QUOTED}"}, ETAG, "PreconditionFailed", 412, {"Condition": "If-Match"}),
        # put-obj-both-precondition
        (
            {"if-none-match": "*", "if-match": "abcdef"},
            None,
            "NotImplemented",
            501,
            {
                "Header": "If-Match,If-None-Match",
                "additionalMessage": "Multiple conditional request headers present in the request",
            },
        ),
    ],
)
def test_put_preconditions_fail_as_s3_does(headers, existing, code, status, fields):
    with pytest.raises(S3Error) as caught:
        put_preconditions(headers, existing, key="k")
    error = caught.value
    assert (error.code, error.status, error.fields) == (code, status, fields)


def test_put_if_match_on_a_missing_key_without_a_key_name_is_still_no_such_key():
    with pytest.raises(S3Error) as caught:
        put_preconditions({"if-match": QUOTED}, None)
    assert caught.value.code == "NoSuchKey"
    assert caught.value.fields == {}


def test_write_precondition_names_its_condition():
    assert WritePrecondition(if_match=ETAG).condition == "If-Match"
    assert WritePrecondition(if_none_match="*").condition == "If-None-Match"


@pytest.mark.parametrize(
    "precondition, etag, holds",
    [
        (WritePrecondition(if_none_match="*"), None, True),
        (WritePrecondition(if_none_match="*"), ETAG, False),
        (WritePrecondition(if_none_match='"other"'), ETAG, True),
        (WritePrecondition(if_none_match=QUOTED), ETAG, False),
        (WritePrecondition(if_match=QUOTED), ETAG, True),
        (WritePrecondition(if_match=QUOTED), "changed", False),
        (WritePrecondition(if_match=QUOTED), None, False),
        (WritePrecondition(if_match="*"), "anything", True),
        (WritePrecondition(if_match="*"), None, False),
    ],
)
def test_the_commit_time_check_sees_the_object_as_the_transaction_does(precondition, etag,
                                                                        holds):
    assert precondition.holds(etag) is holds


def test_a_failed_commit_is_412_if_the_object_is_there_and_409_if_it_was_deleted():
    precondition = WritePrecondition(if_match=QUOTED)
    assert precondition.failure("k", exists=True).status == 412
    conflict = precondition.failure("k", exists=False)
    assert (conflict.code, conflict.status) == ("ConditionalRequestConflict", 409)


def test_conditional_conflict_is_s3s_409():
    error = conditional_conflict("If-Match", "test-precondition")
    assert (error.code, error.status) == ("ConditionalRequestConflict", 409)
    assert error.message == (
        "The conditional request cannot succeed due to a conflicting "
        "operation against this resource."
    )
    assert list(error.fields.items()) == [("Condition", "If-Match"), ("Key", "test-precondition")]


EXISTING = (QUOTED, LAST_MODIFIED, 4)
WHOLE_SECOND = LAST_MODIFIED.replace(microsecond=0)

# (condition, existing object) -> None (delete) or (code, Condition field)
DELETE_TABLE = [
    (DeleteCondition(), EXISTING, None),
    (DeleteCondition(), None, None),
    (DeleteCondition(if_match=QUOTED), EXISTING, None),
    (DeleteCondition(if_match=ETAG), EXISTING, None),
    (DeleteCondition(if_match="*"), EXISTING, None),
    (DeleteCondition(if_match=f"{OTHER}, {QUOTED}"), EXISTING, None),
    (DeleteCondition(if_match=OTHER), EXISTING, ("PreconditionFailed", "If-Match")),
    (DeleteCondition(if_match=f"W/{QUOTED}"), EXISTING, ("PreconditionFailed", "If-Match")),
    (DeleteCondition(if_match=QUOTED), None, ("NoSuchKey", None)),
    (DeleteCondition(if_match="*"), None, ("NoSuchKey", None)),
    (DeleteCondition(last_modified=WHOLE_SECOND), EXISTING, None),
    (DeleteCondition(last_modified=WHOLE_SECOND - timedelta(seconds=1)), EXISTING,
     ("PreconditionFailed", "x-amz-if-match-last-modified-time")),
    (DeleteCondition(last_modified=WHOLE_SECOND - timedelta(seconds=1)), None, None),
    (DeleteCondition(size=4), EXISTING, None),
    (DeleteCondition(size=5), EXISTING, ("PreconditionFailed", "x-amz-if-match-size")),
    (DeleteCondition(size=5), None, None),
    (DeleteCondition(if_match=QUOTED, size=5), EXISTING,
     ("PreconditionFailed", "x-amz-if-match-size")),
]


@pytest.mark.parametrize(("condition", "existing", "expected"), DELETE_TABLE)
def test_delete_preconditions_table(condition, existing, expected):
    error = delete_preconditions(condition, existing, key="k")
    if expected is None:
        assert error is None
        return
    assert error is not None
    code, failed = expected
    assert error.code == code
    assert error.fields == ({"Key": "k"} if failed is None else {"Condition": failed})
