"""The access log formats (sealbox.logs.s3_format, cloudfront_format) and
object names (sealbox.logs.targets): AWS's field order, text a client
chose never breaking a line, the key naming S3 and CloudFront document."""

from __future__ import annotations

import gzip
import re
import shlex
from typing import Any

import pytest

from sealbox.logs import cloudfront_format, s3_format
from sealbox.logs.cloudfront_format import ViewerRequest
from sealbox.logs.s3_format import RequestLine, object_size, render_record
from sealbox.logs.targets import LoggingTarget, cloudfront_object_key
from sealbox.server.audit import EVENT_FIELDS
from sealbox.store.edge_config import CloudFrontLogging, bucket_from_domain

# 2019-02-06 00:00:38 UTC, the time of AWS's own example record.
WHEN = 1549411238.0


def event(**changes: Any) -> tuple[Any, ...]:
    values = dict.fromkeys(EVENT_FIELDS)
    values.update(Time=WHEN, RequestId="3E57427F3EXAMPLE", Operation="GetObject",
                  Bucket="awsexamplebucket1", Key="photos/2019/08/puppy.jpg",
                  Principal="arn:aws:iam::000000000000:root", Auth="SigV4-Header",
                  SourceIp="192.0.2.3", UserAgent="S3Console/0.4", Referer=None, Status=200,
                  BytesSent=113, BytesReceived=0, DurationMs=7.4, EdgeCache=None)
    values.update(changes)
    return tuple(values[f] for f in EVENT_FIELDS)


LINE = RequestLine("GET", "/awsexamplebucket1/photos/2019/08/puppy.jpg?x-foo=bar", "HTTP/1.1",
                   "s3.us-west-1.amazonaws.com", "TLSv1.2", 113, 6.6)


def fields(line: str) -> list[str]:
    return shlex.split(line.replace("[", '"').replace("]", '"'))


def test_the_event_indices_used_are_the_audit_events() -> None:
    names = {s3_format.TIME: "Time", s3_format.REQUEST_ID: "RequestId",
             s3_format.OPERATION: "Operation", s3_format.BUCKET: "Bucket", s3_format.KEY: "Key",
             s3_format.PRINCIPAL: "Principal", s3_format.AUTH: "Auth",
             s3_format.SOURCE_IP: "SourceIp", s3_format.USER_AGENT: "UserAgent",
             s3_format.REFERER: "Referer", s3_format.STATUS: "Status",
             s3_format.ERROR_CODE: "ErrorCode", s3_format.BYTES_SENT: "BytesSent",
             s3_format.BYTES_RECEIVED: "BytesReceived", s3_format.DURATION_MS: "DurationMs",
             cloudfront_format.CACHE: "EdgeCache"}
    assert {index: EVENT_FIELDS[index] for index in names} == names


def test_a_record_has_awss_26_fields_in_awss_order() -> None:
    line = render_record(event(), LINE, "arn:aws:iam::000000000000:root", "hostid=")
    got = fields(line)
    assert len(got) == 26
    assert got[1:10] == ["awsexamplebucket1", "06/Feb/2019:00:00:38 +0000", "192.0.2.3",
                         "arn:aws:iam::000000000000:root", "3E57427F3EXAMPLE",
                         "REST.GET.OBJECT", "photos/2019/08/puppy.jpg",
                         "GET /awsexamplebucket1/photos/2019/08/puppy.jpg?x-foo=bar HTTP/1.1",
                         "200"]
    assert got[10:] == ["-", "113", "113", "7", "7", "-", "S3Console/0.4", "-", "hostid=",
                        "SigV4", "-", "AuthHeader", "s3.us-west-1.amazonaws.com", "TLSv1.2",
                        "-", "-"]
    assert re.fullmatch(r"[0-9a-f]{64}", got[0])
    assert "[06/Feb/2019:00:00:38 +0000]" in line


@pytest.mark.parametrize("agent", ['a "quoted" agent', "new\nline", "tab\there", "back\\slash",
                                   "caf\u00e9 \udcff"])
def test_text_a_client_chose_never_breaks_the_line(agent: str) -> None:
    line = render_record(event(UserAgent=agent, Referer=agent, Key=agent),
                         RequestLine("GET", "/b/" + agent, "HTTP/1.1", agent, None, None, 0),
                         "arn", "h")
    assert "\n" not in line and "\t" not in line
    line.encode("utf-8")  # no lone surrogate is written
    assert len(fields(line)) == 26


def test_anonymous_and_presigned_requests_say_so() -> None:
    anonymous = fields(render_record(event(Auth="Anonymous", Principal=None), LINE, "a", "h"))
    assert (anonymous[4], anonymous[19], anonymous[21]) == ("-", "-", "-")
    presigned = fields(render_record(event(Auth="SigV4-Presigned"), LINE, "a", "h"))
    assert (presigned[19], presigned[21]) == ("SigV4", "QueryString")


def test_the_object_size_of_uploads_ranges_and_whole_reads() -> None:
    assert object_size("PutObject", [], 1234) == 1234
    assert object_size("GetObject", [("content-range", "bytes 0-9/500"),
                                     ("content-length", "10")], 0) == 500
    assert object_size("HeadObject", [("content-length", "77")], 0) == 77
    assert object_size("ListObjectsV2", [("content-length", "77")], 0) is None


def test_s3_log_object_keys_follow_both_documented_formats() -> None:
    simple = LoggingTarget("logs", "access/")
    assert simple.object_key("src", "000000000000", "us-east-1", WHEN, WHEN, "ABCDEF0123456789") \
        == "access/2019-02-06-00-00-38-ABCDEF0123456789"
    by_event = LoggingTarget("logs", "p/", partitioned=True, date_source="EventTime")
    assert by_event.object_key("src", "000000000000", "eu-west-1", WHEN + 86400, WHEN, "U") == \
        "p/000000000000/eu-west-1/src/2019/02/06/2019-02-07-00-00-38-U"
    by_delivery = LoggingTarget("logs", "", partitioned=True, date_source="DeliveryTime")
    assert by_delivery.object_key("src", "0", "r", WHEN + 86400, WHEN, "U").startswith(
        "0/r/src/2019/02/07/")
    made = {simple.object_key("src", "0", "r", WHEN, WHEN) for _ in range(50)}
    assert len(made) == 50  # unique per object: workers never collide


def test_a_target_survives_being_stored() -> None:
    target = LoggingTarget("logs", "é/", True, "EventTime",
                           (("CanonicalUser", "a" * 64, "READ"),))
    assert LoggingTarget.decode(target.encode()) == target


def test_cloudfront_log_names_and_buckets() -> None:
    target = CloudFrontLogging("logs", "cdn/")
    assert cloudfront_object_key(target, "E2QWRUHEXAMPLE", WHEN, "a1b2c3d4") == \
        "cdn/E2QWRUHEXAMPLE.2019-02-06-00.a1b2c3d4.gz"
    assert bucket_from_domain("My-Logs.s3.amazonaws.com") == "my-logs"
    assert bucket_from_domain("logs.s3.eu-west-1.amazonaws.com") == "logs"
    assert bucket_from_domain("logs") == "logs"


def viewer(**changes: Any) -> ViewerRequest:
    values: dict[str, Any] = {
        "distribution_id": "E2QWRUHEXAMPLE", "domain_name": "d111111abcdef8.cloudfront.net",
        "method": "GET", "path": "/view/my/file.html", "query": "", "http_version": "1.1",
        "host": "www.example.com", "secure": True, "tls_version": "TLSv1.2",
        "client_port": 59001, "forwarded_for": None, "cookie": "zip=98101",
        "content_type": "text/html", "content_length": 78, "range_start": None,
        "range_end": None, "turn_around_ms": 1.0}
    values.update(changes)
    return ViewerRequest(**values)


def test_a_cloudfront_file_has_the_header_and_one_line_per_request() -> None:
    lines = [cloudfront_format.render_line(event(EdgeCache="Miss", UserAgent="Mozilla/5.0 (X)"),
                                           viewer(), include_cookies=False)]
    text = gzip.decompress(cloudfront_format.render_file(lines)).decode()
    header, fields_line, record, end = text.split("\n")
    assert (header, end) == ("#Version: 1.0", "")
    names = fields_line.removeprefix("#Fields: ").split(" ")
    values = dict(zip(names, record.split("\t"), strict=True))
    assert len(names) == 33
    assert values["date"] == "2019-02-06" and values["time"] == "00:00:38"
    assert values["cs(Host)"] == "d111111abcdef8.cloudfront.net"
    assert values["x-host-header"] == "www.example.com"
    assert values["cs(User-Agent)"] == "Mozilla/5.0%20(X)"
    assert values["cs(Cookie)"] == "-"  # IncludeCookies false
    assert values["cs-protocol"] == "https" and values["ssl-protocol"] == "TLSv1.2"
    assert values["x-edge-result-type"] == "Miss"
    assert values["time-taken"] == "0.007"


def test_a_viewers_tabs_and_newlines_never_split_a_cloudfront_line() -> None:
    nasty = "a\tb\nc d\udcff"
    line = cloudfront_format.render_line(
        event(UserAgent=nasty, Referer=nasty),
        viewer(path="/x\t\n", query="q=\t", host=nasty, cookie=nasty, forwarded_for=nasty),
        include_cookies=True)
    assert "\n" not in line and " " not in line
    assert len(line.split("\t")) == 33
    line.encode("utf-8")
