"""The edge as a bench peer: sealbox serving the same objects through a
CloudFront-compatible distribution (origin access control, a trusted key
group), each GET carrying a canned-policy signed URL from botocore's
CloudFrontSigner and the distribution's Host header.

Measured on the cache-hit path, as the issue states its targets (a hit of
a signed-URL GET of 1 KiB >= 0.15 x nginx secure_link's req/s, of 1 MiB
>= 0.8 x nginx's MB/s): the warm-up fills the cache, and ``prepare`` checks
that the second fetch of each object is a ``Hit from cloudfront`` with the
right bytes, and that a tampered signature and a missing one are refused.
Every request still verifies its signed URL's conditions (expiry, resource,
key group); the RSA check itself is cached per identical URL until its
expiry, as the issue allows.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from peers import BENCH, BUCKET, LARGE, SMALL, SealboxPeer, Target

LUA_HOST = BENCH / "wrk" / "host.lua"


def _fetch(url: str, host: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read(), r.headers.get("x-cache", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("x-cache", "")


@dataclass
class SealboxEdgePeer(SealboxPeer):
    """sealbox's edge: signed-URL GETs answered from the distribution's cache."""

    def prepare(self) -> None:
        super().prepare()  # the bucket, its objects, the S3 targets and checks
        kw: dict[str, Any] = {"endpoint_url": self.base, "region_name": "us-east-1",
                              "aws_access_key_id": self.access_key,
                              "aws_secret_access_key": self.secret_key}
        cf = boto3.client("cloudfront", **kw)
        s3 = self.client()
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        key_id = cf.create_public_key(PublicKeyConfig={
            "CallerReference": "bench", "Name": "bench", "EncodedKey": pem})["PublicKey"]["Id"]
        group = cf.create_key_group(KeyGroupConfig={"Name": "bench", "Items": [key_id]})
        oac = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": "bench", "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
        dist = cf.create_distribution(DistributionConfig={
            "CallerReference": "bench", "Comment": "bench", "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{
                "Id": "bench", "DomainName": f"{BUCKET}.s3.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac}]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "bench", "ViewerProtocolPolicy": "allow-all",
                "TrustedKeyGroups": {"Enabled": True, "Quantity": 1,
                                     "Items": [group["KeyGroup"]["Id"]]},
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]}))
        host = f"{dist['DomainName']}:{self.port}"
        signer = CloudFrontSigner(key_id, lambda m: private.sign(m, padding.PKCS1v15(),
                                                                 hashes.SHA1()))
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)
        urls = {}
        for name, key, size in (("get_1k", "small", SMALL), ("get_1m", "large", LARGE)):
            signed = signer.generate_presigned_url(f"http://{host}/{key}", date_less_than=expires)
            local = f"{self.base}/{key}?{signed.split('?', 1)[1]}"
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            for want in ("Miss", "Hit"):
                status, got, x_cache = _fetch(local, host)
                if (status, got, x_cache) != (200, body, f"{want} from cloudfront"):
                    raise RuntimeError(f"{self.name}: {key} answered {status} {x_cache!r}")
            if len(body) != size:
                raise RuntimeError(f"{self.name}: {key} is {len(body)} bytes")
            urls[name] = local
        tampered = urls["get_1k"].replace("Signature=", "Signature=A")
        unsigned = urls["get_1k"].split("?", 1)[0]
        for url in (tampered, unsigned):
            status, _, _ = _fetch(url, host)
            if status != 403:
                raise RuntimeError(f"{self.name}: a bad signature answered {status}")
        self.targets = {name: Target(url, LUA_HOST, (host,)) for name, url in urls.items()}
