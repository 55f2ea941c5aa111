"""CloudFront"s DistributionConfig shapes: the order of each structure"s
elements and the element name and shape of each list"s items, generated
from botocore"s ``cloudfront/2020-05-31/service-2.json`` (botocore is not a
runtime dependency; ``tests/unit/test_store_edge.py`` regenerates this
table from the installed botocore and compares).

``STRUCTURES[shape]`` is ``((element, child shape or ""), …)`` in
botocore"s order; ``LISTS[shape]`` is ``(item element, item shape or "")``.
A child shape of ``""`` is text.
"""

from __future__ import annotations

# fmt: off
STRUCTURES: dict[str, tuple[tuple[str, str], ...]] = {
    "Aliases": (
        ("Quantity", ""), ("Items", "AliasList"),
    ),
    "AllowedMethods": (
        ("Quantity", ""), ("Items", "MethodsList"), ("CachedMethods", "CachedMethods"),
    ),
    "CacheBehavior": (
        ("PathPattern", ""), ("TargetOriginId", ""), ("TrustedSigners", "TrustedSigners"),
        ("TrustedKeyGroups", "TrustedKeyGroups"), ("ViewerProtocolPolicy", ""),
        ("AllowedMethods", "AllowedMethods"), ("SmoothStreaming", ""), ("Compress", ""),
        ("LambdaFunctionAssociations", "LambdaFunctionAssociations"),
        ("FunctionAssociations", "FunctionAssociations"), ("FieldLevelEncryptionId", ""),
        ("RealtimeLogConfigArn", ""), ("CachePolicyId", ""), ("OriginRequestPolicyId", ""),
        ("ResponseHeadersPolicyId", ""), ("GrpcConfig", "GrpcConfig"),
        ("ForwardedValues", "ForwardedValues"), ("MinTTL", ""), ("DefaultTTL", ""), ("MaxTTL", ""),
    ),
    "CacheBehaviors": (
        ("Quantity", ""), ("Items", "CacheBehaviorList"),
    ),
    "CacheTagConfig": (
        ("HeaderName", ""),
    ),
    "CachedMethods": (
        ("Quantity", ""), ("Items", "MethodsList"),
    ),
    "ConnectionFunctionAssociation": (
        ("Id", ""),
    ),
    "CookieNames": (
        ("Quantity", ""), ("Items", "CookieNameList"),
    ),
    "CookiePreference": (
        ("Forward", ""), ("WhitelistedNames", "CookieNames"),
    ),
    "CustomErrorResponse": (
        ("ErrorCode", ""), ("ResponsePagePath", ""), ("ResponseCode", ""),
        ("ErrorCachingMinTTL", ""),
    ),
    "CustomErrorResponses": (
        ("Quantity", ""), ("Items", "CustomErrorResponseList"),
    ),
    "CustomHeaders": (
        ("Quantity", ""), ("Items", "OriginCustomHeadersList"),
    ),
    "CustomOriginConfig": (
        ("HTTPPort", ""), ("HTTPSPort", ""), ("OriginProtocolPolicy", ""),
        ("OriginSslProtocols", "OriginSslProtocols"), ("OriginReadTimeout", ""),
        ("OriginKeepaliveTimeout", ""), ("IpAddressType", ""),
        ("OriginMtlsConfig", "OriginMtlsConfig"), ("OriginHttpVersion", ""),
    ),
    "DefaultCacheBehavior": (
        ("TargetOriginId", ""), ("TrustedSigners", "TrustedSigners"),
        ("TrustedKeyGroups", "TrustedKeyGroups"), ("ViewerProtocolPolicy", ""),
        ("AllowedMethods", "AllowedMethods"), ("SmoothStreaming", ""), ("Compress", ""),
        ("LambdaFunctionAssociations", "LambdaFunctionAssociations"),
        ("FunctionAssociations", "FunctionAssociations"), ("FieldLevelEncryptionId", ""),
        ("RealtimeLogConfigArn", ""), ("CachePolicyId", ""), ("OriginRequestPolicyId", ""),
        ("ResponseHeadersPolicyId", ""), ("GrpcConfig", "GrpcConfig"),
        ("ForwardedValues", "ForwardedValues"), ("MinTTL", ""), ("DefaultTTL", ""), ("MaxTTL", ""),
    ),
    "DistributionConfig": (
        ("CallerReference", ""), ("Aliases", "Aliases"), ("DefaultRootObject", ""),
        ("Origins", "Origins"), ("OriginGroups", "OriginGroups"),
        ("DefaultCacheBehavior", "DefaultCacheBehavior"), ("CacheBehaviors", "CacheBehaviors"),
        ("CustomErrorResponses", "CustomErrorResponses"), ("Comment", ""),
        ("Logging", "LoggingConfig"), ("PriceClass", ""), ("Enabled", ""),
        ("ViewerCertificate", "ViewerCertificate"), ("Restrictions", "Restrictions"),
        ("WebACLId", ""), ("HttpVersion", ""), ("IsIPV6Enabled", ""),
        ("ContinuousDeploymentPolicyId", ""), ("Staging", ""), ("AnycastIpListId", ""),
        ("TenantConfig", "TenantConfig"), ("ConnectionMode", ""),
        ("ViewerMtlsConfig", "ViewerMtlsConfig"),
        ("ConnectionFunctionAssociation", "ConnectionFunctionAssociation"),
        ("CacheTagConfig", "CacheTagConfig"),
    ),
    "ForwardedValues": (
        ("QueryString", ""), ("Cookies", "CookiePreference"), ("Headers", "Headers"),
        ("QueryStringCacheKeys", "QueryStringCacheKeys"),
    ),
    "FunctionAssociation": (
        ("FunctionARN", ""), ("EventType", ""),
    ),
    "FunctionAssociations": (
        ("Quantity", ""), ("Items", "FunctionAssociationList"),
    ),
    "GeoRestriction": (
        ("RestrictionType", ""), ("Quantity", ""), ("Items", "LocationList"),
    ),
    "GrpcConfig": (
        ("Enabled", ""),
    ),
    "Headers": (
        ("Quantity", ""), ("Items", "HeaderList"),
    ),
    "LambdaFunctionAssociation": (
        ("LambdaFunctionARN", ""), ("EventType", ""), ("IncludeBody", ""),
    ),
    "LambdaFunctionAssociations": (
        ("Quantity", ""), ("Items", "LambdaFunctionAssociationList"),
    ),
    "LoggingConfig": (
        ("Enabled", ""), ("IncludeCookies", ""), ("Bucket", ""), ("Prefix", ""),
    ),
    "Origin": (
        ("Id", ""), ("DomainName", ""), ("OriginPath", ""), ("CustomHeaders", "CustomHeaders"),
        ("S3OriginConfig", "S3OriginConfig"), ("CustomOriginConfig", "CustomOriginConfig"),
        ("VpcOriginConfig", "VpcOriginConfig"), ("ConnectionAttempts", ""),
        ("ConnectionTimeout", ""), ("ResponseCompletionTimeout", ""),
        ("OriginShield", "OriginShield"), ("OriginAccessControlId", ""),
    ),
    "OriginCustomHeader": (
        ("HeaderName", ""), ("HeaderValue", ""),
    ),
    "OriginGroup": (
        ("Id", ""), ("FailoverCriteria", "OriginGroupFailoverCriteria"),
        ("Members", "OriginGroupMembers"), ("SelectionCriteria", ""),
    ),
    "OriginGroupFailoverCriteria": (
        ("StatusCodes", "StatusCodes"),
    ),
    "OriginGroupMember": (
        ("OriginId", ""),
    ),
    "OriginGroupMembers": (
        ("Quantity", ""), ("Items", "OriginGroupMemberList"),
    ),
    "OriginGroups": (
        ("Quantity", ""), ("Items", "OriginGroupList"),
    ),
    "OriginMtlsConfig": (
        ("ClientCertificateArn", ""),
    ),
    "OriginShield": (
        ("Enabled", ""), ("OriginShieldRegion", ""),
    ),
    "OriginSslProtocols": (
        ("Quantity", ""), ("Items", "SslProtocolsList"),
    ),
    "Origins": (
        ("Quantity", ""), ("Items", "OriginList"),
    ),
    "ParameterDefinition": (
        ("Name", ""), ("Definition", "ParameterDefinitionSchema"),
    ),
    "ParameterDefinitionSchema": (
        ("StringSchema", "StringSchemaConfig"),
    ),
    "QueryStringCacheKeys": (
        ("Quantity", ""), ("Items", "QueryStringCacheKeysList"),
    ),
    "Restrictions": (
        ("GeoRestriction", "GeoRestriction"),
    ),
    "S3OriginConfig": (
        ("OriginAccessIdentity", ""), ("OriginReadTimeout", ""),
    ),
    "StatusCodes": (
        ("Quantity", ""), ("Items", "StatusCodeList"),
    ),
    "StringSchemaConfig": (
        ("Comment", ""), ("DefaultValue", ""), ("Required", ""),
    ),
    "TenantConfig": (
        ("ParameterDefinitions", "ParameterDefinitions"),
    ),
    "TrustStoreConfig": (
        ("TrustStoreId", ""), ("AdvertiseTrustStoreCaNames", ""), ("IgnoreCertificateExpiry", ""),
    ),
    "TrustedKeyGroups": (
        ("Enabled", ""), ("Quantity", ""), ("Items", "TrustedKeyGroupIdList"),
    ),
    "TrustedSigners": (
        ("Enabled", ""), ("Quantity", ""), ("Items", "AwsAccountNumberList"),
    ),
    "ViewerCertificate": (
        ("CloudFrontDefaultCertificate", ""), ("IAMCertificateId", ""), ("ACMCertificateArn", ""),
        ("SSLSupportMethod", ""), ("MinimumProtocolVersion", ""), ("Certificate", ""),
        ("CertificateSource", ""),
    ),
    "ViewerMtlsConfig": (
        ("Mode", ""), ("TrustStoreConfig", "TrustStoreConfig"),
    ),
    "VpcOriginConfig": (
        ("VpcOriginId", ""), ("OwnerAccountId", ""), ("OriginReadTimeout", ""),
        ("OriginKeepaliveTimeout", ""), ("OriginHttpVersion", ""),
    ),
}

LISTS: dict[str, tuple[str, str]] = {
    "AliasList": ("CNAME", ""),
    "AwsAccountNumberList": ("AwsAccountNumber", ""),
    "CacheBehaviorList": ("CacheBehavior", "CacheBehavior"),
    "CookieNameList": ("Name", ""),
    "CustomErrorResponseList": ("CustomErrorResponse", "CustomErrorResponse"),
    "FunctionAssociationList": ("FunctionAssociation", "FunctionAssociation"),
    "HeaderList": ("Name", ""),
    "LambdaFunctionAssociationList": ("LambdaFunctionAssociation", "LambdaFunctionAssociation"),
    "LocationList": ("Location", ""),
    "MethodsList": ("Method", ""),
    "OriginCustomHeadersList": ("OriginCustomHeader", "OriginCustomHeader"),
    "OriginGroupList": ("OriginGroup", "OriginGroup"),
    "OriginGroupMemberList": ("OriginGroupMember", "OriginGroupMember"),
    "OriginList": ("Origin", "Origin"),
    "ParameterDefinitions": ("member", "ParameterDefinition"),
    "QueryStringCacheKeysList": ("Name", ""),
    "SslProtocolsList": ("SslProtocol", ""),
    "StatusCodeList": ("StatusCode", ""),
    "TrustedKeyGroupIdList": ("KeyGroup", ""),
}
# fmt: on
