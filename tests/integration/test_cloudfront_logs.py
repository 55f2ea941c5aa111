"""CloudFront standard logs on a real server (SQLite and PostgreSQL): a
distribution whose DistributionConfig enables ``Logging`` has its viewer
requests delivered as gzip files ``Prefix/DISTID.YYYY-MM-DD-HH.unique.gz``
into the named bucket, in CloudFront's W3C-style format."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.edge_site import Site, make_site, unique

DELIVERED_WITHIN = 15.0
FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields",
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
)


def enable_logging(cf: Any, site: Site, bucket: str, prefix: str, cookies: bool) -> None:
    current = cf.get_distribution_config(Id=site.distribution_id)
    config = current["DistributionConfig"]
    config["Logging"] = {"Enabled": True, "IncludeCookies": cookies,
                         "Bucket": f"{bucket}.s3.amazonaws.com", "Prefix": prefix}
    cf.update_distribution(Id=site.distribution_id, DistributionConfig=config,
                           IfMatch=current["ETag"])


def delivered(s3: Any, bucket: str, prefix: str, ids: set[str]) -> tuple[list[str], list[dict]]:
    """(keys, records by field name) once every request id in ``ids`` is there."""
    started = time.monotonic()
    while True:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
                .get("Contents", [])]
        records: list[dict[str, str]] = []
        for key in keys:
            text = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
            lines = text.splitlines()
            assert lines[0] == "#Version: 1.0"
            assert lines[1] == "#Fields: " + " ".join(FIELDS)
            for line in lines[2:]:
                values = line.split("\t")
                assert len(values) == len(FIELDS), line
                records.append(dict(zip(FIELDS, values, strict=True)))
        if ids <= {r["x-edge-request-id"] for r in records}:
            return keys, records
        if time.monotonic() - started > DELIVERED_WITHIN:
            pytest.fail(f"no records for {ids} after {DELIVERED_WITHIN}s: {records}")
        time.sleep(0.3)


def test_viewer_requests_are_delivered_as_standard_log_files(
        s3: Any, client_factory: Any, server: Any) -> None:
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
    s3.put_object(Bucket=site.bucket, Key="film.mp4", Body=b"f" * 700,
                  ContentType="video/mp4")
    logs = unique("cflogs")
    s3.create_bucket(Bucket=logs)
    enable_logging(cf, site, logs, "cdn/", cookies=True)

    whole = site.get(site.url("/film.mp4?quality=hd"),
                     headers={"User-Agent": "Mozilla/5.0 (X11)\ttab", "Referer": "https://a.test/",
                              "Cookie": "session=abc"})
    assert whole.status_code == 200
    part = site.get(site.url("/film.mp4"), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    missing = site.get(site.url("/none.mp4"))
    assert missing.status_code >= 400
    ids = {whole.headers["x-amz-cf-id"], part.headers["x-amz-cf-id"],
           missing.headers["x-amz-cf-id"]}

    keys, records = delivered(s3, logs, "cdn/", ids)
    pattern = rf"cdn/{site.distribution_id}\.\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}\.[0-9a-f]{{8}}\.gz"
    assert all(re.fullmatch(pattern, key) for key in keys), keys
    by_id = {r["x-edge-request-id"]: r for r in records}
    first = by_id[whole.headers["x-amz-cf-id"]]
    assert first["cs-method"] == "GET"
    assert first["cs(Host)"] == site.domain
    assert first["x-host-header"] == site.host
    assert first["cs-uri-stem"] == "/film.mp4"
    assert first["cs-uri-query"] == "quality=hd"
    assert first["sc-status"] == "200"
    assert int(first["sc-bytes"]) == 700
    assert first["c-ip"] == "127.0.0.1"
    assert first["cs(Referer)"] == "https://a.test/"
    assert first["cs(User-Agent)"] == "Mozilla/5.0%20(X11)%09tab"
    assert first["cs(Cookie)"] == "session=abc"
    assert first["x-edge-result-type"] in ("Hit", "Miss")
    assert first["cs-protocol"] == "http"
    assert first["cs-protocol-version"] == "HTTP/1.1"
    assert first["sc-content-type"] == "video/mp4"
    assert first["sc-content-len"] == "700"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first["date"])
    assert re.fullmatch(r"\d+\.\d{3}", first["time-taken"])
    ranged = by_id[part.headers["x-amz-cf-id"]]
    assert (ranged["sc-status"], ranged["sc-range-start"], ranged["sc-range-end"]) == \
        ("206", "10", "19")
    assert ranged["cs-uri-query"] == "-"
    refused = by_id[missing.headers["x-amz-cf-id"]]
    assert refused["x-edge-result-type"] == "Error"


def test_goaccess_reads_the_standard_logs(s3: Any, client_factory: Any, server: Any,
                                          tmp_path: Path) -> None:
    if shutil.which("goaccess") is None:
        why = "goaccess is not installed (bash scripts/install-test-deps.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{why}; CI must run it", pytrace=False)
        pytest.skip(why)
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
    s3.put_object(Bucket=site.bucket, Key="a.txt", Body=b"a" * 10)
    logs = unique("cflogs")
    s3.create_bucket(Bucket=logs)
    enable_logging(cf, site, logs, "g/", cookies=False)
    ids = {site.get(site.url(path)).headers["x-amz-cf-id"]
           for path in ("/a.txt", "/a.txt", "/missing.txt")}
    keys, records = delivered(s3, logs, "g/", ids)
    files = []
    for key in keys:
        path = tmp_path / key.replace("/", "_").removesuffix(".gz")
        path.write_bytes(gzip.decompress(s3.get_object(Bucket=logs, Key=key)["Body"].read()))
        files.append(str(path))
    report = tmp_path / "report.json"
    done = subprocess.run(["goaccess", "--log-format=CLOUDFRONT", "-o", str(report), *files],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    general = json.loads(report.read_text())["general"]
    assert general["total_requests"] == len(records) == 3
    assert general["failed_requests"] == 0


def test_cookies_are_left_out_unless_included(s3: Any, client_factory: Any,
                                              server: Any) -> None:
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
    s3.put_object(Bucket=site.bucket, Key="a.txt", Body=b"a")
    logs = unique("cflogs")
    s3.create_bucket(Bucket=logs)
    enable_logging(cf, site, logs, "", cookies=False)
    seen = site.get(site.url("/a.txt"), headers={"Cookie": "secret=1"})
    _, records = delivered(s3, logs, site.distribution_id, {seen.headers["x-amz-cf-id"]})
    assert records[0]["cs(Cookie)"] == "-"


def test_signed_urls_and_cookies_leave_no_signature_in_the_log(
        s3: Any, client_factory: Any, server: Any) -> None:
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port)  # viewers must sign
    s3.put_object(Bucket=site.bucket, Key="film.mp4", Body=b"f")
    logs = unique("cflogs")
    s3.create_bucket(Bucket=logs)
    enable_logging(cf, site, logs, "", cookies=True)
    url = site.signed("/film.mp4")
    by_url = site.get(url)
    cookies = site.cookies(site.url("/*"))
    by_cookie = site.get(site.url("/film.mp4"), cookies=cookies)
    assert (by_url.status_code, by_cookie.status_code) == (200, 200)
    _, records = delivered(s3, logs, site.distribution_id, {
        by_url.headers["x-amz-cf-id"], by_cookie.headers["x-amz-cf-id"]})
    text = repr(records)
    url_signature = url.rsplit("Signature=", 1)[1].split("&")[0]
    assert url_signature not in text
    assert cookies["CloudFront-Signature"] not in text
    query = next(r["cs-uri-query"] for r in records
                 if r["x-edge-request-id"] == by_url.headers["x-amz-cf-id"])
    assert "Signature=%5Bsha256:" in query and f"Key-Pair-Id={site.key_id}" in query


def test_a_log_bucket_that_does_not_exist_is_refused(s3: Any, client_factory: Any,
                                                    server: Any) -> None:
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
    with pytest.raises(ClientError) as info:
        enable_logging(cf, site, unique("nowhere"), "x/", cookies=False)
    assert info.value.response["Error"]["Code"] == "InvalidArgument"
    assert "does not exist" in info.value.response["Error"]["Message"]
