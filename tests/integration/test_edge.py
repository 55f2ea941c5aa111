"""The edge against a real server (SQLite and PostgreSQL): a distribution
in front of a closed bucket through origin access control, viewers with
signed URLs and cookies, the cache, and CloudFront's refusals."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.edge_site import Site, behaviour, make_site, oac_policy, unique

BODY = b"chapter one\n" * 1000


@pytest.fixture
def cf(client_factory: Any) -> Any:
    return client_factory("cloudfront")


@pytest.fixture
def site(s3: Any, cf: Any, server: Any) -> Site:
    made = make_site(s3, cf, server.endpoint, server.port, behaviours=[
        behaviour(groups=None, PathPattern="/public/*"),
        behaviour(groups=None, PathPattern="/secure/*", viewer_protocol="https-only"),
        behaviour(groups=None, PathPattern="/moved/*", viewer_protocol="redirect-to-https"),
    ])
    s3.put_object(Bucket=made.bucket, Key="book.epub", Body=BODY, ContentType="application/epub+zip")
    return made


def xml_code(response: Any) -> str:
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


# -- signed URLs and the closed bucket -------------------------------------------


def test_signed_url_is_served_through_the_edge_while_the_bucket_stays_closed(
        site: Site, s3: Any, server: Any) -> None:
    import requests

    first = site.get(site.signed("/book.epub"))
    assert first.status_code == 200, first.text
    assert first.content == BODY
    assert first.headers["content-type"] == "application/epub+zip"
    assert first.headers["x-cache"] == "Miss from cloudfront"
    assert "(CloudFront)" in first.headers["via"]
    assert first.headers["etag"] == s3.head_object(Bucket=site.bucket, Key="book.epub")["ETag"]
    # The bucket itself answers nobody without a signature.
    direct = requests.get(f"{server.endpoint}/{site.bucket}/book.epub", timeout=10)
    assert direct.status_code == 403 and xml_code(direct) == "AccessDenied"


def test_unsigned_expired_and_tampered_links_get_cloudfronts_refusals(site: Site) -> None:
    missing = site.get(site.url("/book.epub"))
    assert missing.status_code == 403
    assert missing.headers["content-type"] == "text/xml"
    assert missing.headers["x-cache"] == "Error from cloudfront"
    assert xml_code(missing) == "MissingKey"
    assert "Missing Key-Pair-Id query parameter or cookie value" in missing.text

    expired = site.get(site.signed("/book.epub", seconds=-5))
    assert expired.status_code == 403 and xml_code(expired) == "AccessDenied"

    other_path = site.signed("/book.epub").replace("/book.epub", "/other.epub")
    assert xml_code(site.get(other_path)) == "AccessDenied"

    garbled = site.signed("/book.epub").replace("Signature=", "Signature=%%%")
    assert xml_code(site.get(garbled)) == "MalformedSignature"

    unknown = site.signed("/book.epub").replace(f"Key-Pair-Id={site.key_id}", "Key-Pair-Id=KNOPE")
    assert xml_code(site.get(unknown)) == "InvalidKey"


def test_a_key_outside_the_trusted_key_groups_is_refused(site: Site, cf: Any) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from tests.integration.edge_site import public_pem

    other_id = cf.create_public_key(PublicKeyConfig={
        "CallerReference": unique("k"), "Name": unique("key"),
        "EncodedKey": public_pem(other)})["PublicKey"]["Id"]
    cf.create_key_group(KeyGroupConfig={"Name": unique("g"), "Items": [other_id]})
    response = site.get(site.signed("/book.epub", key_id=other_id, private_key=other))
    assert response.status_code == 403 and xml_code(response) == "InvalidKey"
    # The trusted key signing with the other key's id is no better.
    forged = site.get(site.signed("/book.epub", key_id=other_id))
    assert forged.status_code == 403


def test_signed_cookies_admit_a_viewer_without_signing_parameters(site: Site) -> None:
    cookies = site.cookies(site.url("/*"))
    ok = site.get(site.url("/book.epub"), cookies=cookies)
    assert ok.status_code == 200 and ok.content == BODY
    narrow = site.cookies(site.url("/other/*"))
    assert xml_code(site.get(site.url("/book.epub"), cookies=narrow)) == "AccessDenied"
    # A URL that carries signing parameters is judged by them alone.
    bad_url = site.url("/book.epub") + "?Expires=1&Signature=AAAA&Key-Pair-Id=" + site.key_id
    assert site.get(bad_url, cookies=cookies).status_code == 403


# -- origin access control -------------------------------------------------------


def test_the_bucket_policy_decides_what_the_distribution_may_read(site: Site, s3: Any) -> None:
    url = site.signed("/book.epub")
    s3.delete_bucket_policy(Bucket=site.bucket)
    refused = site.get(url)
    assert refused.status_code == 403 and xml_code(refused) == "AccessDenied"
    assert refused.headers["x-cache"] == "Error from cloudfront"
    # Another distribution's ARN in the policy does not admit this one.
    s3.put_bucket_policy(Bucket=site.bucket, Policy=oac_policy(site.bucket, site.arn + "X"))
    assert site.get(url).status_code == 403
    s3.put_bucket_policy(Bucket=site.bucket, Policy=oac_policy(site.bucket, site.arn))
    assert site.get(url).status_code == 200


def test_a_missing_object_is_403_unless_the_distribution_may_list(site: Site, s3: Any) -> None:
    url = site.signed("/nothing-here.epub")
    assert xml_code(site.get(url)) == "AccessDenied"
    policy = json.loads(oac_policy(site.bucket, site.arn))
    listing = dict(policy["Statement"], Sid="List", Action="s3:ListBucket",
                   Resource=f"arn:aws:s3:::{site.bucket}")
    policy["Statement"] = [policy["Statement"], listing]
    s3.put_bucket_policy(Bucket=site.bucket, Policy=json.dumps(policy))
    missing = site.get(url)
    assert missing.status_code == 404 and xml_code(missing) == "NoSuchKey"


def test_public_behaviour_needs_no_signature_but_the_bucket_still_decides(site: Site,
                                                                        s3: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="public/cover.png", Body=b"png")
    response = site.get(site.url("/public/cover.png"))
    assert response.status_code == 200 and response.content == b"png"


# -- the cache -------------------------------------------------------------------


def test_second_fetch_is_a_hit_with_an_age_and_ranges_come_from_the_cache(site: Site) -> None:
    url = site.signed("/book.epub")
    assert site.get(url).headers["x-cache"] == "Miss from cloudfront"
    hit = site.get(url)
    assert hit.headers["x-cache"] == "Hit from cloudfront"
    assert int(hit.headers["age"]) >= 0
    part = site.get(url, headers={"Range": "bytes=12-23"})
    assert part.status_code == 206
    assert part.content == BODY[12:24]
    assert part.headers["content-range"] == f"bytes 12-23/{len(BODY)}"
    assert part.headers["x-cache"] == "Hit from cloudfront"
    beyond = site.get(url, headers={"Range": f"bytes={len(BODY)}-"})
    assert beyond.status_code == 416


def test_conditional_requests_are_answered_from_the_cache(site: Site) -> None:
    url = site.signed("/book.epub")
    etag = site.get(url).headers["etag"]
    same = site.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    other = site.get(url, headers={"If-None-Match": '"0123"'})
    assert other.status_code == 200


def test_a_hit_is_served_even_after_the_bucket_closes_until_invalidated(
        site: Site, s3: Any, cf: Any) -> None:
    url = site.signed("/book.epub")
    site.get(url)
    s3.delete_bucket_policy(Bucket=site.bucket)
    assert site.get(url).headers["x-cache"] == "Hit from cloudfront"
    made = cf.create_invalidation(DistributionId=site.distribution_id, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/book*"]}, "CallerReference": unique("inv")})
    assert made["Invalidation"]["Status"] == "Completed"
    after = site.get(url)
    assert after.status_code == 403 and after.headers["x-cache"] == "Error from cloudfront"


def test_invalidation_drops_only_matching_paths(site: Site, s3: Any, cf: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="keep.txt", Body=b"keep")
    keep, book = site.signed("/keep.txt"), site.signed("/book.epub")
    site.get(keep), site.get(book)
    cf.create_invalidation(DistributionId=site.distribution_id, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/book.epub"]}, "CallerReference": unique("inv")})
    assert site.get(book).headers["x-cache"] == "Miss from cloudfront"
    assert site.get(keep).headers["x-cache"] == "Hit from cloudfront"


def test_no_store_from_the_origin_is_not_cached(site: Site, s3: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="live.json", Body=b"{}", CacheControl="no-store")
    url = site.signed("/live.json")
    assert site.get(url).headers["x-cache"] == "Miss from cloudfront"
    again = site.get(url)
    assert again.headers["x-cache"] == "Miss from cloudfront"
    assert again.headers["cache-control"] == "no-store"


def test_stale_entry_is_revalidated_and_a_new_version_is_fetched(site: Site, s3: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="news.txt", Body=b"v1", CacheControl="max-age=1")
    url = site.signed("/news.txt")
    assert site.get(url).content == b"v1"
    time.sleep(1.2)
    refreshed = site.get(url)
    assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront"
    assert refreshed.content == b"v1"
    s3.put_object(Bucket=site.bucket, Key="news.txt", Body=b"v2", CacheControl="max-age=1")
    time.sleep(1.2)
    fetched = site.get(url)
    assert fetched.headers["x-cache"] == "Miss from cloudfront"
    assert fetched.content == b"v2"


# -- viewer protocol, methods, state -----------------------------------------------


def test_viewer_protocol_policies(site: Site, s3: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="secure/a.txt", Body=b"a")
    s3.put_object(Bucket=site.bucket, Key="moved/b.txt", Body=b"b")
    https_only = site.get(site.url("/secure/a.txt"))
    assert https_only.status_code == 403
    assert https_only.headers["x-cache"] == "Error from cloudfront"
    moved = site.get(site.url("/moved/b.txt") + "?x=1")
    assert moved.status_code == 301
    # This server speaks no HTTPS (no --tls-port): the default port 443 of
    # the same name, where a TLS terminator would listen, as CloudFront does
    # (never this plain port; test_tls_port.py has the --tls-port case).
    assert moved.headers["location"] == f"https://{site.domain}/moved/b.txt?x=1"
    # Behind a TLS-terminating proxy this server does not trust, the claim
    # of HTTPS is not believed.
    forged = site.get(site.url("/secure/a.txt"), headers={"X-Forwarded-Proto": "https"})
    assert forged.status_code == 403


def test_methods_the_behaviour_does_not_allow_are_refused(site: Site) -> None:
    for method in ("PUT", "DELETE", "POST"):
        response = site.get(site.signed("/book.epub"), method=method, data=b"x")
        assert response.status_code == 403, method
    head = site.get(site.signed("/book.epub"), method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(BODY))


def test_a_disabled_distribution_answers_403(site: Site, cf: Any) -> None:
    got = cf.get_distribution_config(Id=site.distribution_id)
    config = got["DistributionConfig"]
    config["Enabled"] = False
    cf.update_distribution(Id=site.distribution_id, IfMatch=got["ETag"], DistributionConfig=config)
    response = site.get(site.signed("/book.epub"))
    assert response.status_code == 403
    assert "could not be satisfied" in response.text


def test_an_alias_answers_like_the_distributions_own_name(s3: Any, cf: Any, server: Any) -> None:
    alias = f"cdn-{uuid.uuid4().hex[:8]}.example.com"
    made = make_site(s3, cf, server.endpoint, server.port, aliases=[alias], restricted=False)
    s3.put_object(Bucket=made.bucket, Key="logo.svg", Body=b"<svg/>")
    response = made.get(made.url("/logo.svg"), host=alias)
    assert response.status_code == 200 and response.content == b"<svg/>"
    # A host no distribution names is an S3 request: here, an unsigned one
    # for the bucket "logo.svg", which does not exist (S3's NoSuchBucket).
    other = made.get(made.url("/logo.svg"), host="unknown.example.com")
    assert other.status_code == 404 and "x-cache" not in other.headers
    assert "<Code>NoSuchBucket</Code>" in other.text


def test_default_root_object_answers_the_bare_domain(s3: Any, cf: Any, server: Any) -> None:
    made = make_site(s3, cf, server.endpoint, server.port, restricted=False,
                     root_object="index.html")
    s3.put_object(Bucket=made.bucket, Key="index.html", Body=b"<h1>hi</h1>",
                  ContentType="text/html")
    response = made.get(made.url("/"))
    assert response.status_code == 200 and response.content == b"<h1>hi</h1>"


# -- Referer forwarded to the origin ------------------------------------------------


def test_forwarded_referer_lets_the_seeds_referer_policy_work_through_the_edge(
        s3: Any, cf: Any, server: Any) -> None:
    made = make_site(s3, cf, server.endpoint, server.port, oac=False, policy=False,
                     restricted=False, default=behaviour(forward_referer=True),
                     behaviours=[behaviour(PathPattern="/plain/*")])
    s3.put_public_access_block(Bucket=made.bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    s3.put_bucket_policy(Bucket=made.bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Allow get requests originating from www.example.com and example.com.",
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{made.bucket}/*",
            "Condition": {"StringLike": {"aws:Referer": ["http://www.example.com/*",
                                                         "http://example.com/*"]}},
        }],
    }))
    s3.put_object(Bucket=made.bucket, Key="img.png", Body=b"img")
    s3.put_object(Bucket=made.bucket, Key="plain/img.png", Body=b"img")
    from_site = made.get(made.url("/img.png"), headers={"Referer": "http://www.example.com/page"})
    assert from_site.status_code == 200
    # A forwarded header is part of the cache key, so another Referer is
    # another origin request, which the policy refuses.
    elsewhere = made.get(made.url("/img.png"), headers={"Referer": "http://evil.example.net/"})
    assert elsewhere.status_code == 403
    assert made.get(made.url("/img.png")).status_code == 403
    again = made.get(made.url("/img.png"), headers={"Referer": "http://www.example.com/page"})
    assert again.headers["x-cache"] == "Hit from cloudfront"
    # A behaviour that does not forward it never satisfies the policy.
    plain = made.get(made.url("/plain/img.png"), headers={"Referer": "http://www.example.com/p"})
    assert plain.status_code == 403


# -- garbage from viewers -------------------------------------------------------------

GARBAGE = ["", "%", "%zz", "~~~~", "-_~", "A" * 20000, "\u00e9", "%00", "=", "&&", "1e99",
           "-1", "99999999999999999999", "eyJTdGF0ZW1lbnQiOltdfQ", "e30", "bnVsbA__"]


@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_in_any_signing_parameter_or_cookie_is_a_403_never_a_500(site: Site,
                                                                         value: str) -> None:
    from urllib.parse import quote

    good = dict(part.split("=", 1) for part in site.signed("/book.epub").split("?", 1)[1].split("&"))
    policy = {"Policy": "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiKiJ9XX0_", **good}
    for base in (good, policy):
        for name in base:
            params = dict(base, **{name: quote(value, safe="%~")})
            query = "&".join(f"{k}={v}" for k, v in params.items())
            response = site.get(site.url("/book.epub") + "?" + query)
            assert response.status_code == 403, (name, value, response.text[:200])
            assert response.headers["x-cache"] == "Error from cloudfront"
            cookies = {f"CloudFront-{k}": v for k, v in params.items()}
            response = site.get(site.url("/book.epub"), cookies=cookies)
            # Headers are capped at 8 KB (S3's limit) before anyone reads them.
            assert response.status_code == (400 if len(value) > 8192 else 403), (name, value)


def test_a_policy_over_10_kb_or_with_a_bad_date_is_malformed(site: Site) -> None:
    import base64

    def with_policy(document: bytes) -> Any:
        encoded = base64.b64encode(document).decode().translate(str.maketrans("+=/", "-_~"))
        return site.get(site.url("/book.epub") + f"?Policy={encoded}&Signature=AAAA"
                        f"&Key-Pair-Id={site.key_id}")

    big = json.dumps({"Statement": [{"Resource": "*" * 11000, "Condition": {
        "DateLessThan": {"AWS:EpochTime": 2000000000}}}]}).encode()
    assert xml_code(with_policy(big)) == "MalformedPolicy"
    bad_date = b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":"soon"}}}]}'
    assert xml_code(with_policy(bad_date)) == "MalformedPolicy"
    assert xml_code(with_policy(b"not json")) == "MalformedPolicy"
    # a lone surrogate escape is JSON's syntax but not text: malformed too
    lone = (b'{"Statement":[{"Resource":"\\ud800",'
            b'"Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}')
    response = with_policy(lone)
    assert (response.status_code, xml_code(response)) == (403, "MalformedPolicy")


# -- CORS through the edge ---------------------------------------------------------------

CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"  # managed origin request policy
METHODS = {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"],
           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}


@pytest.fixture
def cors_site(s3: Any, cf: Any, server: Any) -> Site:
    made = make_site(s3, cf, server.endpoint, server.port, restricted=False,
                     default=behaviour(OriginRequestPolicyId=CORS_S3_ORIGIN,
                                       AllowedMethods=METHODS),
                     behaviours=[behaviour(PathPattern="/plain/*", AllowedMethods=METHODS)])
    s3.put_bucket_cors(Bucket=made.bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "HEAD"],
        "AllowedHeaders": ["range"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]})
    for key in ("segment.ts", "plain/segment.ts"):
        s3.put_object(Bucket=made.bucket, Key=key, Body=b"ts")
    return made


def test_a_behaviour_forwarding_origin_answers_with_the_buckets_cors_rules(
        cors_site: Site) -> None:
    allowed = {"Origin": "https://app.example.com"}
    got = cors_site.get(cors_site.url("/segment.ts"), headers=allowed)
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == "https://app.example.com"
    assert got.headers["access-control-expose-headers"] == "ETag"
    # From the cache as well, and on errors too.
    again = cors_site.get(cors_site.url("/segment.ts"), headers=allowed)
    assert again.headers["x-cache"] == "Hit from cloudfront"
    assert again.headers["access-control-allow-origin"] == "https://app.example.com"
    missing = cors_site.get(cors_site.url("/none.ts"), headers=allowed)
    assert missing.status_code == 403
    assert missing.headers["access-control-allow-origin"] == "https://app.example.com"
    other = cors_site.get(cors_site.url("/segment.ts"), headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_a_cors_preflight_through_the_edge(cors_site: Site) -> None:
    ask = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "range"}
    ok = cors_site.get(cors_site.url("/segment.ts"), method="OPTIONS", headers=ask)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-methods"] == "GET, HEAD"
    assert ok.headers["access-control-allow-headers"] == "range"
    assert ok.headers["access-control-max-age"] == "600"
    refused = cors_site.get(cors_site.url("/segment.ts"), method="OPTIONS",
                            headers=dict(ask, Origin="https://evil.example"))
    assert refused.status_code == 403


def test_a_behaviour_that_does_not_forward_origin_sends_no_cors_headers(cors_site: Site) -> None:
    got = cors_site.get(cors_site.url("/plain/segment.ts"),
                        headers={"Origin": "https://app.example.com"})
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
    preflight = cors_site.get(cors_site.url("/plain/segment.ts"), method="OPTIONS", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 403


# -- concurrent overwrites ------------------------------------------------------------------


@pytest.mark.parametrize("cache_control", ["no-store", "max-age=0"])
def test_viewers_see_a_whole_old_or_new_object_while_it_is_overwritten(
        site: Site, s3: Any, cache_control: str) -> None:
    import threading

    versions = [b"A" * 70_000, b"B" * 5_000]
    s3.put_object(Bucket=site.bucket, Key="hot.bin", Body=versions[0], CacheControl=cache_control)
    url = site.signed("/hot.bin")
    stop = threading.Event()

    def overwrite() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            s3.put_object(Bucket=site.bucket, Key="hot.bin", Body=versions[i % 2],
                          CacheControl=cache_control)

    writer = threading.Thread(target=overwrite)
    writer.start()
    try:
        for _ in range(60):
            got = site.get(url)
            assert got.status_code == 200, got.text[:300]
            assert got.content in versions
            assert got.headers["content-length"] == str(len(got.content))
    finally:
        stop.set()
        writer.join()
