"""A CloudFront setup on a test server, made the way the seeds make it:
a bucket, an RSA key pair whose public half is in a key group, an origin
access control, a distribution, and the seed's bucket policy admitting only
that distribution. Plus a viewer that fetches the distribution's URLs from
the server's loopback port with the distribution's Host header."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RSA_BITS = 2048


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def public_pem(private_key: Any) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(private_key: Any) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()).decode()


def oac_policy(bucket: str, distribution_arn: str) -> str:
    """The CloudFront Developer Guide's OAC bucket policy, names changed."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "AllowCloudFrontServicePrincipalReadOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
    })


def behaviour(target: str = "bucket", *, groups: list[str] | None = None,
              viewer_protocol: str = "allow-all", ttl: tuple[int, int, int] = (0, 60, 3600),
              forward_referer: bool = False, forward_query: bool = False,
              **extra: Any) -> dict[str, Any]:
    headers: dict[str, Any] = {"Quantity": 0}
    if forward_referer:
        headers = {"Quantity": 1, "Items": ["Referer"]}
    b: dict[str, Any] = {
        "TargetOriginId": target,
        "ViewerProtocolPolicy": viewer_protocol,
        "ForwardedValues": {"QueryString": forward_query, "Cookies": {"Forward": "none"},
                            "Headers": headers},
        "MinTTL": ttl[0], "DefaultTTL": ttl[1], "MaxTTL": ttl[2],
    }
    if groups:
        b["TrustedKeyGroups"] = {"Enabled": True, "Quantity": len(groups), "Items": groups}
    b.update(extra)
    return b


@dataclass
class Site:
    """One distribution and what signs for it."""

    endpoint: str  # the server's loopback URL
    port: int
    bucket: str
    distribution_id: str
    domain: str
    arn: str
    etag: str
    key_id: str
    group_id: str
    private_key: Any = field(repr=False)

    @property
    def host(self) -> str:
        """The Host header viewers send (the distribution's name and the port)."""
        return f"{self.domain}:{self.port}"

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}{path}"

    def signer(self, key_id: str | None = None, private_key: Any = None) -> CloudFrontSigner:
        key = private_key or self.private_key
        return CloudFrontSigner(key_id or self.key_id,
                                lambda message: key.sign(message, padding.PKCS1v15(),
                                                         hashes.SHA1()))

    def signed(self, path: str, *, seconds: int = 300, **kwargs: Any) -> str:
        """A canned-policy signed URL (botocore's CloudFrontSigner)."""
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        return self.signer(**kwargs).generate_presigned_url(self.url(path),
                                                            date_less_than=expires)

    def cookies(self, resource: str, *, seconds: int = 300) -> dict[str, str]:
        """Signed cookies for a custom policy over ``resource`` (``*`` allowed)."""
        signer = self.signer()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        policy = signer.build_policy(resource, expires).encode()
        signature = self.private_key.sign(policy, padding.PKCS1v15(), hashes.SHA1())
        return {"CloudFront-Policy": _cf64(policy), "CloudFront-Signature": _cf64(signature),
                "CloudFront-Key-Pair-Id": self.key_id}

    def get(self, url: str, *, method: str = "GET", host: str | None = None,
            **kwargs: Any) -> requests.Response:
        """Fetch a distribution URL (as signed) from the server's port."""
        scheme_host = url.split("/", 3)
        path = "/" + scheme_host[3] if len(scheme_host) > 3 else "/"
        headers = {"Host": host or self.host, **kwargs.pop("headers", {})}
        return requests.request(method, self.endpoint + path, headers=headers,
                                allow_redirects=False, timeout=30, **kwargs)


def _cf64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


def make_site(s3: Any, cf: Any, endpoint: str, port: int, *,
              behaviours: list[dict[str, Any]] | None = None, oac: bool = True,
              policy: bool = True, restricted: bool = True, aliases: list[str] | None = None,
              default: dict[str, Any] | None = None, root_object: str = "") -> Site:
    """A bucket and a distribution in front of it (see the module docstring)."""
    bucket = unique("edge")
    s3.create_bucket(Bucket=bucket)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    key_id = cf.create_public_key(PublicKeyConfig={
        "CallerReference": unique("k"), "Name": unique("key"),
        "EncodedKey": public_pem(private_key)})["PublicKey"]["Id"]
    group_id = cf.create_key_group(KeyGroupConfig={
        "Name": unique("group"), "Items": [key_id]})["KeyGroup"]["Id"]
    oac_id = ""
    if oac:
        oac_id = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": unique("oac"), "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    groups = [group_id] if restricted else None
    config: dict[str, Any] = {
        "CallerReference": unique("ref"),
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "bucket", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac_id}]},
        "DefaultCacheBehavior": default or behaviour(groups=groups),
        "Comment": "sealbox edge test", "Enabled": True,
        "DefaultRootObject": root_object,
    }
    if behaviours:
        config["CacheBehaviors"] = {"Quantity": len(behaviours), "Items": behaviours}
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": aliases}
    made = cf.create_distribution(DistributionConfig=config)
    dist = made["Distribution"]
    if policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=oac_policy(bucket, dist["ARN"]))
    return Site(endpoint, port, bucket, dist["Id"], dist["DomainName"], dist["ARN"],
                made["ETag"], key_id, group_id, private_key)
