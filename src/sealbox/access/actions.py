"""Each S3 operation and the IAM action it needs: one table.

The names are those of the "Actions, resources, and condition keys for
Amazon S3" page, so policies written for AWS mean the same here. A
resource of ``bucket`` is ``arn:aws:s3:::<bucket>``; ``object`` is
``arn:aws:s3:::<bucket>/<key>``; ``service`` is ``*``.
"""

from __future__ import annotations

from typing import Literal

ResourceKind = Literal["service", "bucket", "object"]

# operation -> (s3 action, resource kind)
ACTIONS: dict[str, tuple[str, ResourceKind]] = {
    "ListBuckets": ("s3:ListAllMyBuckets", "service"),
    "CreateBucket": ("s3:CreateBucket", "bucket"),
    "DeleteBucket": ("s3:DeleteBucket", "bucket"),
    "HeadBucket": ("s3:ListBucket", "bucket"),
    "GetBucketLocation": ("s3:GetBucketLocation", "bucket"),
    "GetBucketVersioning": ("s3:GetBucketVersioning", "bucket"),
    "PutBucketVersioning": ("s3:PutBucketVersioning", "bucket"),
    "GetBucketCors": ("s3:GetBucketCORS", "bucket"),
    "PutBucketCors": ("s3:PutBucketCORS", "bucket"),
    "DeleteBucketCors": ("s3:PutBucketCORS", "bucket"),  # IAM has no DeleteBucketCORS action
    "ListObjects": ("s3:ListBucket", "bucket"),
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    "ListObjectVersions": ("s3:ListBucketVersions", "bucket"),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", "bucket"),
    "DeleteObjects": ("s3:DeleteObject", "bucket"),
    "GetObject": ("s3:GetObject", "object"),
    "HeadObject": ("s3:GetObject", "object"),
    "PutObject": ("s3:PutObject", "object"),
    "PostObject": ("s3:PutObject", "object"),  # the key comes from the form
    "CopyObject": ("s3:PutObject", "object"),
    "DeleteObject": ("s3:DeleteObject", "object"),
    "GetObjectTagging": ("s3:GetObjectTagging", "object"),
    "PutObjectTagging": ("s3:PutObjectTagging", "object"),
    "DeleteObjectTagging": ("s3:DeleteObjectTagging", "object"),
    "GetObjectAttributes": ("s3:GetObjectAttributes", "object"),
    "CreateMultipartUpload": ("s3:PutObject", "object"),
    "UploadPart": ("s3:PutObject", "object"),
    "UploadPartCopy": ("s3:PutObject", "object"),
    "CompleteMultipartUpload": ("s3:PutObject", "object"),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", "object"),
    "ListParts": ("s3:ListMultipartUploadParts", "object"),
    "PutBucketPolicy": ("s3:PutBucketPolicy", "bucket"),
    "GetBucketPolicy": ("s3:GetBucketPolicy", "bucket"),
    "DeleteBucketPolicy": ("s3:DeleteBucketPolicy", "bucket"),
    "GetBucketPolicyStatus": ("s3:GetBucketPolicyStatus", "bucket"),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock", "bucket"),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock", "bucket"),
    "DeletePublicAccessBlock": ("s3:PutBucketPublicAccessBlock", "bucket"),
    "PutAccountPublicAccessBlock": ("s3:PutAccountPublicAccessBlock", "service"),
    "GetAccountPublicAccessBlock": ("s3:GetAccountPublicAccessBlock", "service"),
    "DeleteAccountPublicAccessBlock": ("s3:PutAccountPublicAccessBlock", "service"),
    "PutBucketOwnershipControls": ("s3:PutBucketOwnershipControls", "bucket"),
    "GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls", "bucket"),
    "DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls", "bucket"),
    "GetBucketAcl": ("s3:GetBucketAcl", "bucket"),
    "PutBucketAcl": ("s3:PutBucketAcl", "bucket"),
    "GetObjectAcl": ("s3:GetObjectAcl", "object"),
    "PutObjectAcl": ("s3:PutObjectAcl", "object"),
    "PutBucketLogging": ("s3:PutBucketLogging", "bucket"),
    "GetBucketLogging": ("s3:GetBucketLogging", "bucket"),
    # DeleteBucketLifecycle has no action of its own: IAM asks for
    # s3:PutLifecycleConfiguration (the Service Authorization Reference).
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration", "bucket"),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration", "bucket"),
    "DeleteBucketLifecycle": ("s3:PutLifecycleConfiguration", "bucket"),
    "PutObjectLockConfiguration": ("s3:PutBucketObjectLockConfiguration", "bucket"),
    "GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration", "bucket"),
    # A version's lock: the same action whether or not versionId is named.
    "PutObjectRetention": ("s3:PutObjectRetention", "object"),
    "GetObjectRetention": ("s3:GetObjectRetention", "object"),
    "PutObjectLegalHold": ("s3:PutObjectLegalHold", "object"),
    "GetObjectLegalHold": ("s3:GetObjectLegalHold", "object"),
    # Default encryption: S3 has one action for Put and Delete.
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration", "bucket"),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration", "bucket"),
    "DeleteBucketEncryption": ("s3:PutEncryptionConfiguration", "bucket"),
    "GetBucketTagging": ("s3:GetBucketTagging", "bucket"),
    "PutBucketTagging": ("s3:PutBucketTagging", "bucket"),
    "DeleteBucketTagging": ("s3:PutBucketTagging", "bucket"),  # IAM has no DeleteBucketTagging
}

# What an operation needs instead when it names a version (``?versionId=``),
# as IAM names them: reading or removing one version is its own permission.
VERSION_ACTIONS: dict[str, str] = {
    "GetObject": "s3:GetObjectVersion",
    "HeadObject": "s3:GetObjectVersion",
    "DeleteObject": "s3:DeleteObjectVersion",
    "GetObjectTagging": "s3:GetObjectVersionTagging",
    "PutObjectTagging": "s3:PutObjectVersionTagging",
    "DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "GetObjectAcl": "s3:GetObjectVersionAcl",
    "PutObjectAcl": "s3:PutObjectVersionAcl",
    "GetObjectAttributes": "s3:GetObjectVersionAttributes",
}


def action_for(operation: str, names_version: bool) -> tuple[str, ResourceKind]:
    """The action and resource kind an operation needs; ``names_version``:
    the request carries ``versionId``."""
    action, kind = ACTIONS[operation]
    if names_version:
        action = VERSION_ACTIONS.get(operation, action)
    return action, kind


def resource_arn(kind: ResourceKind, bucket: str | None, key: str | None) -> str:
    if kind == "service" or bucket is None:
        return "*"
    if kind == "bucket" or key is None:
        return f"arn:aws:s3:::{bucket}"
    return f"arn:aws:s3:::{bucket}/{key}"
