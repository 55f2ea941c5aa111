"""The CloudFront configuration shapes the admin JSON API reads and writes
beyond ``store.edge_shapes`` (which covers DistributionConfig): the other
configs' members, and which scalar members are JSON booleans or integers
(the stored documents keep every scalar as XML text). Generated from
botocore's ``cloudfront/2020-05-31/service-2.json`` (botocore is not a
runtime dependency; ``tests/unit/test_admin_edge_json.py`` regenerates
these tables from the installed botocore and compares).

``SCALAR_TYPES[(shape, member)]`` is ``"boolean"`` or ``"integer"``
(``long`` too); ``(list shape, "*")`` types a list's items. A member not
named is a string.
"""

from __future__ import annotations

# fmt: off
EXTRA_STRUCTURES: dict[str, tuple[tuple[str, str], ...]] = {
    "InvalidationBatch": (("Paths", "Paths"), ("CallerReference", "")),
    "KeyGroupConfig": (("Name", ""), ("Items", "PublicKeyIdList"), ("Comment", "")),
    "OriginAccessControlConfig": (
        ("Name", ""), ("Description", ""), ("SigningProtocol", ""), ("SigningBehavior", ""),
        ("OriginAccessControlOriginType", ""),
    ),
    "Paths": (("Quantity", ""), ("Items", "PathList")),
    "PublicKeyConfig": (
        ("CallerReference", ""), ("Name", ""), ("EncodedKey", ""), ("Comment", ""),
    ),
}

EXTRA_LISTS: dict[str, tuple[str, str]] = {
    "PathList": ("Path", ""),
    "PublicKeyIdList": ("PublicKey", ""),
}

SCALAR_TYPES: dict[tuple[str, str], str] = {
    ("Aliases", "Quantity"): "integer",
    ("AllowedMethods", "Quantity"): "integer",
    ("CacheBehavior", "Compress"): "boolean",
    ("CacheBehavior", "DefaultTTL"): "integer",
    ("CacheBehavior", "MaxTTL"): "integer",
    ("CacheBehavior", "MinTTL"): "integer",
    ("CacheBehavior", "SmoothStreaming"): "boolean",
    ("CacheBehaviors", "Quantity"): "integer",
    ("CachedMethods", "Quantity"): "integer",
    ("CookieNames", "Quantity"): "integer",
    ("CustomErrorResponse", "ErrorCachingMinTTL"): "integer",
    ("CustomErrorResponse", "ErrorCode"): "integer",
    ("CustomErrorResponses", "Quantity"): "integer",
    ("CustomHeaders", "Quantity"): "integer",
    ("CustomOriginConfig", "HTTPPort"): "integer",
    ("CustomOriginConfig", "HTTPSPort"): "integer",
    ("CustomOriginConfig", "OriginKeepaliveTimeout"): "integer",
    ("CustomOriginConfig", "OriginReadTimeout"): "integer",
    ("DefaultCacheBehavior", "Compress"): "boolean",
    ("DefaultCacheBehavior", "DefaultTTL"): "integer",
    ("DefaultCacheBehavior", "MaxTTL"): "integer",
    ("DefaultCacheBehavior", "MinTTL"): "integer",
    ("DefaultCacheBehavior", "SmoothStreaming"): "boolean",
    ("DistributionConfig", "Enabled"): "boolean",
    ("DistributionConfig", "IsIPV6Enabled"): "boolean",
    ("DistributionConfig", "Staging"): "boolean",
    ("ForwardedValues", "QueryString"): "boolean",
    ("FunctionAssociations", "Quantity"): "integer",
    ("GeoRestriction", "Quantity"): "integer",
    ("GrpcConfig", "Enabled"): "boolean",
    ("Headers", "Quantity"): "integer",
    ("LambdaFunctionAssociation", "IncludeBody"): "boolean",
    ("LambdaFunctionAssociations", "Quantity"): "integer",
    ("LoggingConfig", "Enabled"): "boolean",
    ("LoggingConfig", "IncludeCookies"): "boolean",
    ("Origin", "ConnectionAttempts"): "integer",
    ("Origin", "ConnectionTimeout"): "integer",
    ("Origin", "ResponseCompletionTimeout"): "integer",
    ("OriginGroupMembers", "Quantity"): "integer",
    ("OriginGroups", "Quantity"): "integer",
    ("OriginShield", "Enabled"): "boolean",
    ("OriginSslProtocols", "Quantity"): "integer",
    ("Origins", "Quantity"): "integer",
    ("Paths", "Quantity"): "integer",
    ("QueryStringCacheKeys", "Quantity"): "integer",
    ("S3OriginConfig", "OriginReadTimeout"): "integer",
    ("StatusCodeList", "*"): "integer",
    ("StatusCodes", "Quantity"): "integer",
    ("StringSchemaConfig", "Required"): "boolean",
    ("TrustStoreConfig", "AdvertiseTrustStoreCaNames"): "boolean",
    ("TrustStoreConfig", "IgnoreCertificateExpiry"): "boolean",
    ("TrustedKeyGroups", "Enabled"): "boolean",
    ("TrustedKeyGroups", "Quantity"): "integer",
    ("TrustedSigners", "Enabled"): "boolean",
    ("TrustedSigners", "Quantity"): "integer",
    ("ViewerCertificate", "CloudFrontDefaultCertificate"): "boolean",
    ("VpcOriginConfig", "OriginKeepaliveTimeout"): "integer",
    ("VpcOriginConfig", "OriginReadTimeout"): "integer",
}
# fmt: on
