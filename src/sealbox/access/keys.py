"""The condition keys a policy may name: AWS's global keys and S3's.

A policy naming any other key is refused ("Policy has an invalid condition
key"). Keys are kept in lookup form (``variables.context_key``).
"""

from __future__ import annotations

# Global keys from "AWS global condition context keys"; a policy may name
# any of them, and those sealbox never sets are simply absent from requests.
GLOBAL_KEYS = frozenset(
    k.lower()
    for k in [
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:TagKeys",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
    ]
)
# Keys of "Actions, resources, and condition keys for Amazon S3".
S3_KEYS = frozenset(
    k.lower()
    for k in [
        "s3:authType",
        "s3:delimiter",
        "s3:max-keys",
        "s3:prefix",
        "s3:signatureAge",
        "s3:signatureversion",
        "s3:TlsVersion",
        "s3:x-amz-acl",
        "s3:x-amz-content-sha256",
        "s3:x-amz-copy-source",
        "s3:x-amz-grant-full-control",
        "s3:x-amz-grant-read",
        "s3:x-amz-grant-read-acp",
        "s3:x-amz-grant-write",
        "s3:x-amz-grant-write-acp",
        "s3:x-amz-metadata-directive",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:x-amz-server-side-encryption-customer-algorithm",
        "s3:x-amz-storage-class",
        "s3:x-amz-website-redirect-location",
        "s3:x-amz-object-ownership",
        "s3:VersionId",
        "s3:LocationConstraint",
        "s3:RequestObjectTagKeys",
        "s3:ResourceAccount",
        "s3:DataAccessPointAccount",
        "s3:DataAccessPointArn",
        "s3:AccessPointNetworkOrigin",
        "s3:object-lock-mode",
        "s3:object-lock-retain-until-date",
        "s3:object-lock-legal-hold",
        "s3:object-lock-remaining-retention-days",
        "s3:if-match",
        "s3:if-none-match",
        "s3:x-amz-checksum-algorithm",
    ]
)
# Keys whose name ends in a tag key of the policy's choosing.
TAG_KEY_PREFIXES = (
    "aws:principaltag/",
    "aws:requesttag/",
    "aws:resourcetag/",
    "s3:existingobjecttag/",
    "s3:requestobjecttag/",
)


def known_key(key: str) -> bool:
    """Whether ``key`` (in lookup form) is a condition key IAM defines."""
    if key in GLOBAL_KEYS or key in S3_KEYS:
        return True
    return any(key.startswith(p) and len(key) > len(p) for p in TAG_KEY_PREFIXES)
