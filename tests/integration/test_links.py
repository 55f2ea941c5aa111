"""Links you control (issue 13), against real servers on SQLite and
PostgreSQL with real clients: managed links made with the CLI and the admin
API and fetched with curl and requests; use limits (one-time, Range and
HEAD count, 20 concurrent GETs of a 5-use link across two server processes
give exactly five 200s); bound addresses; PUT links with a content type and
a size; revocation of a managed link, a boto3 SigV4 link, a SigV2 link (as
the AWS CLI's ``s3`` signature version makes it) and a CloudFront signed
URL and cookies, each while a sibling link of the same signer still works;
bad input answered 4xx with nothing stored."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from sealbox.cli.client import AdminClient, ApiError, path
from sealbox.testing.server import RunningServer
from tests.integration.edge_site import make_site

BODY = b"the quarterly report, all of it " * 32


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture
def cli(server: RunningServer, tmp_path: Path):
    """``sealbox …`` as root against the test server; returns the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "sealbox", *args, "--endpoint-url",
                               server.endpoint, "--data-dir", str(tmp_path / "none")],
                              capture_output=True, text=True, timeout=60, env=env,
                              cwd=tmp_path, check=False)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


@pytest.fixture
def report(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="q3/report.pdf", Body=BODY)
    return bucket


def make_link(admin: AdminClient, bucket: str, key: str = "q3/report.pdf",
              **members: Any) -> dict[str, Any]:
    return admin.call("POST", path("links"), {"Bucket": bucket, "Key": key, **members}).body


def reason(response: requests.Response) -> str:
    text = response.text
    return text.split("<Message>", 1)[1].split("</Message>", 1)[0] if "<Message>" in text else ""


def curl(url: str, *options: str) -> tuple[int, bytes]:
    done = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *options, url],
                          capture_output=True, timeout=30, check=True)
    body, _, status = done.stdout.rpartition(b"\n")
    return int(status), body


# -- managed links -------------------------------------------------------------------


def test_cli_link_is_fetched_with_curl(cli, report: str) -> None:
    done = cli("link", "create", f"s3://{report}/q3/report.pdf", "--expires", "15m",
               "--note", "for the board")
    url = done.stdout.strip()
    assert "X-Sealbox-Link=lnk-" in url and "X-Amz-Signature=" in url
    assert curl(url) == (200, BODY)
    listed = json.loads(cli("link", "list", "--bucket", report, "--json").stdout)["Links"]
    assert [(x["Key"], x["Method"], x["Uses"], x["MaxUses"], x["Revoked"], x["Note"])
            for x in listed] == [("q3/report.pdf", "GET", 0, None, False, "for the board")]


def test_cli_json_answer_names_the_link(cli, report: str) -> None:
    answer = json.loads(cli("link", "create", f"s3://{report}/q3/report.pdf", "--uses", "3",
                            "--json").stdout)
    assert set(answer) == {"LinkId", "Url", "Expires", "MaxUses"}
    assert answer["MaxUses"] == 3
    shown = json.loads(cli("link", "show", answer["LinkId"], "--json").stdout)
    assert {k: shown[k] for k in ("LinkId", "Bucket", "Key", "Method", "Expires", "Uses",
                                  "MaxUses", "Revoked", "Note")} == {
        "LinkId": answer["LinkId"], "Bucket": report, "Key": "q3/report.pdf", "Method": "GET",
        "Expires": answer["Expires"], "Uses": 0, "MaxUses": 3, "Revoked": False, "Note": ""}


def test_one_time_link_answers_once_then_used_up(admin: AdminClient, report: str) -> None:
    link = make_link(admin, report, MaxUses=1)
    first = requests.get(link["Url"], timeout=30)
    assert first.status_code == 200 and first.content == BODY
    again = requests.get(link["Url"], timeout=30)
    assert again.status_code == 403
    assert "<Code>AccessDenied</Code>" in again.text
    assert reason(again) == "The link has been used up"
    shown = admin.call("GET", path("links", link["LinkId"])).body
    assert shown["Uses"] == 1


def test_a_range_request_a_head_and_a_missing_key_each_count_as_a_use(
        admin: AdminClient, report: str) -> None:
    link = make_link(admin, report, MaxUses=2)
    ranged = requests.get(link["Url"], headers={"Range": "bytes=0-9"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == BODY[:10]
    assert requests.get(link["Url"], timeout=30).status_code == 200
    assert reason(requests.get(link["Url"], timeout=30)) == "The link has been used up"

    head = make_link(admin, report, Method="HEAD", MaxUses=1)
    assert requests.head(head["Url"], timeout=30).status_code == 200
    assert requests.head(head["Url"], timeout=30).status_code == 403

    # Admitted (signature and access passed), then the object is not there:
    # a use all the same.
    missing = make_link(admin, report, Key="nothing-here", MaxUses=1)
    assert requests.get(missing["Url"], timeout=30).status_code == 404
    assert reason(requests.get(missing["Url"], timeout=30)) == "The link has been used up"


def test_a_get_the_client_drops_midway_still_counts(admin: AdminClient, s3: Any,
                                                    bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(8 << 20))
    link = make_link(admin, bucket, Key="big.bin", MaxUses=2)
    with requests.get(link["Url"], stream=True, timeout=30) as dropped:
        assert dropped.status_code == 200
        assert len(dropped.raw.read(1024)) == 1024
    assert admin.call("GET", path("links", link["LinkId"])).body["Uses"] == 1
    assert len(requests.get(link["Url"], timeout=30).content) == 8 << 20
    assert reason(requests.get(link["Url"], timeout=30)) == "The link has been used up"


def test_response_overrides_are_signed_into_the_link(admin: AdminClient, report: str) -> None:
    link = make_link(admin, report, ResponseContentDisposition='attachment; filename="r.pdf"',
                     ResponseContentType="application/pdf")
    got = requests.get(link["Url"], timeout=30)
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="r.pdf"'
    assert got.headers["content-type"] == "application/pdf"
    # Signed: another disposition breaks the signature.
    changed = link["Url"].replace("attachment", "inline")
    assert requests.get(changed, timeout=30).status_code == 403


def test_unlimited_link_is_never_counted_down(admin: AdminClient, report: str) -> None:
    link = make_link(admin, report)
    for _ in range(5):
        assert requests.get(link["Url"], timeout=30).status_code == 200
    assert admin.call("GET", path("links", link["LinkId"])).body["Uses"] == 0


def _get_from(url: str, source: str) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, body
    finally:
        conn.close()


def test_bound_link_answers_only_its_address(admin: AdminClient, report: str) -> None:
    link = make_link(admin, report, BindIp=["127.0.0.2/32"])
    status, _ = _get_from(link["Url"], "127.0.0.2")
    assert status == 200
    status, body = _get_from(link["Url"], "127.0.0.1")
    assert status == 403 and "The link is not valid from this address" in body
    assert curl(link["Url"], "--interface", "127.0.0.2")[0] == 200


def test_put_link_takes_its_content_type_and_size(admin: AdminClient, s3: Any,
                                                  bucket: str) -> None:
    link = make_link(admin, bucket, Key="uploads/avatar.png", Method="PUT",
                     ContentType="image/png", MaxSize=1000, MaxUses=2)
    url = link["Url"]
    wrong = requests.put(url, data=b"x" * 10, headers={"Content-Type": "text/html"}, timeout=30)
    assert wrong.status_code == 403
    assert reason(wrong) == "The link requires the Content-Type image/png"
    big = requests.put(url, data=b"x" * 1001, headers={"Content-Type": "image/png"}, timeout=30)
    assert big.status_code == 403
    assert reason(big) == "The link allows a body of at most 1000 bytes"
    good = requests.put(url, data=b"\x89PNG" + b"x" * 996, headers={"Content-Type": "image/png"},
                        timeout=30)
    assert good.status_code == 200, good.text
    assert s3.get_object(Bucket=bucket, Key="uploads/avatar.png")["Body"].read()[:4] == b"\x89PNG"
    # Refusals before the use: one use is left.
    assert admin.call("GET", path("links", link["LinkId"])).body["Uses"] == 1
    # The key is fixed: the signature covers the path.
    other = url.replace("uploads/avatar.png", "uploads/other.png")
    assert requests.put(other, data=b"x", headers={"Content-Type": "image/png"},
                        timeout=30).status_code == 403


def test_link_stops_when_its_signer_loses_the_right(server: RunningServer, client_factory: Any,
                                                    report: str) -> None:
    iam = client_factory("iam")
    user = f"linker-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="links", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sealbox:CreateLink", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{report}/*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    mine = AdminClient(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    link = make_link(mine, report)
    assert requests.get(link["Url"], timeout=30).status_code == 200
    # Allowed to make links and nothing else.
    with pytest.raises(ApiError) as refused:
        mine.call("GET", path("links"))
    assert refused.value.code == "AccessDenied"
    iam.delete_user_policy(UserName=user, PolicyName="links")
    assert requests.get(link["Url"], timeout=30).status_code == 403


# -- 20 concurrent GETs of a 5-use link, on two server processes ----------------------------


def _get_on(url: str, node: RunningServer) -> requests.Response:
    """GET a link made for one node from ``node``, with the Host header it was
    signed for (as a load balancer in front of both would send it)."""
    parts = urlsplit(url)
    return requests.get(f"{node.endpoint}{parts.path}?{parts.query}",
                        headers={"Host": parts.netloc}, timeout=60)


def _race(sends: list[tuple[str, RunningServer]]) -> list[tuple[int, int]]:
    statuses: list[tuple[int, int]] = []
    gate = threading.Barrier(len(sends))
    lock = threading.Lock()

    def one(url: str, node: RunningServer) -> None:
        gate.wait()
        response = _get_on(url, node)
        assert response.status_code == 200 or reason(response) == "The link has been used up"
        with lock:
            statuses.append((response.status_code, node.port))

    threads = [threading.Thread(target=one, args=send) for send in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _five_of_twenty(one: RunningServer, two: RunningServer) -> None:
    """20 concurrent GETs of a 5-use link, half to each node; then a
    revocation on one node seen by the other."""
    s3 = boto3.client("s3", endpoint_url=one.endpoint, region_name="us-east-1",
                      aws_access_key_id=one.access_key, aws_secret_access_key=one.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    s3.create_bucket(Bucket="race")
    s3.put_object(Bucket="race", Key="ticket", Body=b"admit one")
    admin = AdminClient(one.endpoint, one.access_key, one.secret_key)
    link = make_link(admin, "race", "ticket", MaxUses=5)["Url"]
    # Half the requests to each process: the count is the store's.
    statuses = _race([(link, one), (link, two)] * 10)
    assert sorted(s for s, _ in statuses) == [200] * 5 + [403] * 15
    assert AdminClient(two.endpoint, one.access_key, one.secret_key).call(
        "GET", path("links", make_link_id(link))).body["Uses"] == 5
    # A revocation made on one node is refused by the other on its next request.
    params = {"Bucket": "race", "Key": "ticket"}
    offline = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
    assert _get_on(offline, two).status_code == 200
    admin.call("POST", path("revocations"), {"Url": offline})
    assert reason(_get_on(offline, two)) == "The link has been revoked"


def make_link_id(url: str) -> str:
    return url.split("X-Sealbox-Link=", 1)[1].split("&", 1)[0]


def test_five_use_link_admits_five_of_twenty_on_sqlite(tmp_path: Path) -> None:
    # Two servers on one data dir: two processes sharing the SQLite file.
    with RunningServer(data_dir=tmp_path / "data") as one, \
            RunningServer(data_dir=tmp_path / "data") as two:
        _five_of_twenty(one, two)


def test_five_use_link_admits_five_of_twenty_on_postgres(tmp_path: Path,
                                                        postgres_cluster: Any) -> None:
    # Two servers on one database (and one blob directory, as nodes share
    # their objects' storage).
    dsn = postgres_cluster.new_database()
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--meta-dsn", dsn)) as one, \
            RunningServer(data_dir=tmp_path / "data", extra_args=("--meta-dsn", dsn)) as two:
        _five_of_twenty(one, two)


# -- revocation, one link at a time --------------------------------------------------


def test_revoking_a_managed_link_leaves_its_sibling(cli, admin: AdminClient,
                                                    report: str) -> None:
    link, sibling = make_link(admin, report), make_link(admin, report)
    assert requests.get(link["Url"], timeout=30).status_code == 200
    answer = json.loads(cli("link", "revoke", link["LinkId"], "--json").stdout)
    assert answer == {"Revoked": link["LinkId"], "Until": link["Expires"]}
    refused = requests.get(link["Url"], timeout=30)
    assert refused.status_code == 403 and reason(refused) == "The link has been revoked"
    assert requests.get(sibling["Url"], timeout=30).status_code == 200
    assert admin.call("GET", path("links", link["LinkId"])).body["Revoked"] is True
    # Revoking by its URL names the same link.
    again = admin.call("POST", path("revocations"), {"Url": link["Url"]}).body
    assert again["Revoked"] == link["LinkId"]


def test_revoking_an_offline_boto3_link_leaves_its_sibling(cli, s3: Any, report: str) -> None:
    params = {"Bucket": report, "Key": "q3/report.pdf"}
    link = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
    sibling = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=601)
    assert requests.get(link, timeout=30).status_code == 200
    answer = json.loads(cli("link", "revoke", link, "--json").stdout)
    assert len(answer["Revoked"]) == 64  # the signature's fingerprint, not the signature
    assert answer["Revoked"] not in link
    refused = requests.get(link, timeout=30)
    assert refused.status_code == 403 and reason(refused) == "The link has been revoked"
    assert requests.get(sibling, timeout=30).status_code == 200


def test_revoking_a_sigv2_link_leaves_its_sibling(cli, client_factory: Any,
                                                  report: str) -> None:
    # What `aws s3 presign` makes with `signature_version = s3` in its config.
    v2 = client_factory(signature_version="s3")
    params = {"Bucket": report, "Key": "q3/report.pdf"}
    link = v2.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
    sibling = v2.generate_presigned_url("get_object", Params=params, ExpiresIn=601)
    assert "AWSAccessKeyId=" in link and "Signature=" in link
    assert curl(link)[0] == 200
    cli("link", "revoke", link)
    status, body = curl(link)
    assert status == 403 and b"The link has been revoked" in body
    assert curl(sibling)[0] == 200


def test_revoking_a_cloudfront_url_and_cookies_leaves_their_siblings(
        cli, s3: Any, client_factory: Any, server: RunningServer) -> None:
    site = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port)
    s3.put_object(Bucket=site.bucket, Key="film.mp4", Body=b"frames")
    link, sibling = site.signed("/film.mp4", seconds=300), site.signed("/film.mp4", seconds=301)
    assert site.get(link).status_code == 200
    done = cli("link", "revoke", link)
    assert done.stdout.startswith("revoked ")
    assert site.get(link).status_code == 403
    assert site.get(sibling).content == b"frames"

    cookies, other = site.cookies(site.url("/*")), site.cookies(site.url("/*"), seconds=400)
    assert site.get(site.url("/film.mp4"), cookies=cookies).status_code == 200
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    cli("link", "revoke", site.url("/film.mp4"), "--cookie", header)
    assert site.get(site.url("/film.mp4"), cookies=cookies).status_code == 403
    assert site.get(site.url("/film.mp4"), cookies=other).status_code == 200


# -- bad input: a clear 4xx, nothing stored --------------------------------------------


def _count(admin: AdminClient) -> int:
    return len(admin.call("GET", path("links")).body["Links"])


@pytest.mark.parametrize("members, words", [
    ({"BindIp": ["10.0.0.300/8"]}, "is not a CIDR"),
    ({"MaxUses": 0}, "MaxUses must be"),
    ({"MaxUses": -3}, "MaxUses must be"),
    ({"Expires": 8 * 86400}, "1 second to 7 days"),
    ({"Expires": "8d"}, "7 days"),
    ({"Method": "DELETE"}, "Method must be"),
    ({"ContentType": "image/png"}, "PUT links only"),
    ({"Colour": "red"}, "Unknown member"),
])
def test_bad_link_is_refused_and_nothing_is_stored(admin: AdminClient, report: str,
                                                   members: dict[str, Any], words: str) -> None:
    before = _count(admin)
    with pytest.raises(ApiError) as refused:
        make_link(admin, report, **members)
    assert refused.value.status == 400 and words in str(refused.value)
    assert _count(admin) == before


def test_unknown_link_id_is_404(admin: AdminClient, cli) -> None:
    for method in ("GET", "DELETE"):
        with pytest.raises(ApiError) as refused:
            admin.call(method, path("links", "lnk-aaaaaaaaaaaaaaaaaaaa"))
        assert refused.value.status == 404 and refused.value.code == "NoSuchLink"
    done = cli("link", "revoke", "lnk-aaaaaaaaaaaaaaaaaaaa", check=False)
    assert done.returncode == 1 and "NoSuchLink" in done.stderr


@pytest.mark.parametrize("url, words", [
    ("https://example.com/a/b", "not a signed link"),
    ("not a url", "http:// or https://"),
    # Signed by a key this server does not hold.
    ("http://127.0.0.1:1/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIANOTOURS0000000"
     "00%2F20991231%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20991231T000000Z&X-Amz-Expires=60"
     "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64, "not a link signed for this server"),
    ("http://nowhere.example/x?Expires=4102444800&Signature=abc&Key-Pair-Id=K1",
     "no distribution"),
])
def test_revoking_what_is_not_our_link_is_400(admin: AdminClient, url: str, words: str) -> None:
    with pytest.raises(ApiError) as refused:
        admin.call("POST", path("revocations"), {"Url": url})
    assert refused.value.status == 400 and words in str(refused.value)


def test_revoking_a_forged_signature_is_400(admin: AdminClient, s3: Any, report: str) -> None:
    link = s3.generate_presigned_url("get_object", Params={"Bucket": report,
                                                           "Key": "q3/report.pdf"})
    forged = link[:-8] + "00000000"
    with pytest.raises(ApiError) as refused:
        admin.call("POST", path("revocations"), {"Url": forged})
    assert refused.value.status == 400
    assert requests.get(link, timeout=30).status_code == 200


def test_links_are_in_the_openapi_document(server: RunningServer) -> None:
    document = requests.get(server.endpoint + "/_sealbox/api/openapi.json", timeout=30).json()
    prefix = "/_sealbox/api/v1/"
    assert set(document["paths"][prefix + "links"]) == {"get", "post"}
    assert set(document["paths"][prefix + "links/{LinkId}"]) == {"get", "delete"}
    assert document["paths"][prefix + "revocations"]["post"]["x-sealbox-action"] == \
        "sealbox:RevokeLink"


def test_behind_a_trusted_proxy_the_forwarded_address_is_judged(tmp_path: Path) -> None:
    # The proxy (here: the test on 127.0.0.1) is trusted; X-Forwarded-For
    # names the client, and only that address is bound.
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--trusted-proxy", "127.0.0.1/32")) as proxied:
        s3 = boto3.client("s3", endpoint_url=proxied.endpoint, region_name="us-east-1",
                          aws_access_key_id=proxied.access_key,
                          aws_secret_access_key=proxied.secret_key,
                          config=Config(s3={"addressing_style": "path"},
                                        signature_version="s3v4"))
        s3.create_bucket(Bucket="proxied")
        s3.put_object(Bucket="proxied", Key="k", Body=b"behind the proxy")
        admin = AdminClient(proxied.endpoint, proxied.access_key, proxied.secret_key)
        url = make_link(admin, "proxied", "k", BindIp=["203.0.113.0/24"])["Url"]
        inside = requests.get(url, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
        assert inside.status_code == 200 and inside.content == b"behind the proxy"
        outside = requests.get(url, headers={"X-Forwarded-For": "198.51.100.7"}, timeout=30)
        assert reason(outside) == "The link is not valid from this address"
        assert reason(requests.get(url, timeout=30)) == "The link is not valid from this address"


def test_link_uses_and_refusals_are_counted_by_reason(server: RunningServer, admin: AdminClient,
                                                      report: str) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def counts() -> dict[str, float]:
        page = requests.get(f"{server.endpoint}/_sealbox/metrics", timeout=10)
        assert page.status_code == 200, page.text
        return {sample.labels["result"]: sample.value
                for family in text_string_to_metric_families(page.text)
                for sample in family.samples if sample.name == "sealbox_link_requests_total"}

    once, bound = make_link(admin, report, MaxUses=1), make_link(admin, report,
                                                              BindIp=["192.0.2.0/24"])
    before = counts()
    assert requests.get(once["Url"], timeout=30).status_code == 200
    assert requests.get(once["Url"], timeout=30).status_code == 403
    assert requests.get(bound["Url"], timeout=30).status_code == 403
    admin.call("DELETE", path("links", once["LinkId"]))
    assert requests.get(once["Url"], timeout=30).status_code == 403
    after = counts()
    moved = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert moved == {**dict.fromkeys(after, 0), "Admitted": 1, "UsedUp": 1,
                     "AddressNotAllowed": 1, "Revoked": 1}
