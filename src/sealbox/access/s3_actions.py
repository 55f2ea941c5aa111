"""The S3 actions a policy may name, and the resource each applies to.

From "Actions, resources, and condition keys for Amazon S3" (Service
Authorization Reference): ``bucket`` actions take ``arn:aws:s3:::bucket``,
``object`` actions ``arn:aws:s3:::bucket/key``, ``service`` actions ``*``.
A policy naming an action not listed here is refused ("Policy has invalid
action"), and S3 refuses a bucket-policy statement whose actions apply to
none of its resources, which needs the kind. Keys are lower-case: action
names are case-insensitive.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["service", "bucket", "object"]

_SERVICE = """
ListAllMyBuckets ListAccessPoints ListJobs CreateJob GetAccountPublicAccessBlock
PutAccountPublicAccessBlock ListStorageLensConfigurations ListAccessGrantsInstances
ListMultiRegionAccessPoints
"""
_BUCKET = """
CreateBucket DeleteBucket ListBucket ListBucketVersions ListBucketMultipartUploads
GetBucketLocation GetBucketVersioning PutBucketVersioning GetBucketPolicy PutBucketPolicy
DeleteBucketPolicy GetBucketPolicyStatus GetBucketAcl PutBucketAcl GetBucketCORS PutBucketCORS
GetBucketWebsite PutBucketWebsite DeleteBucketWebsite GetBucketLogging PutBucketLogging
GetBucketNotification PutBucketNotification GetBucketTagging PutBucketTagging
GetBucketPublicAccessBlock PutBucketPublicAccessBlock GetBucketOwnershipControls
PutBucketOwnershipControls GetBucketObjectLockConfiguration PutBucketObjectLockConfiguration
GetBucketRequestPayment PutBucketRequestPayment GetLifecycleConfiguration
PutLifecycleConfiguration GetReplicationConfiguration PutReplicationConfiguration
GetEncryptionConfiguration PutEncryptionConfiguration GetAccelerateConfiguration
PutAccelerateConfiguration GetAnalyticsConfiguration PutAnalyticsConfiguration
GetInventoryConfiguration PutInventoryConfiguration GetMetricsConfiguration
PutMetricsConfiguration GetIntelligentTieringConfiguration PutIntelligentTieringConfiguration
PutBucketObjectLockConfiguration GetBucketMetadataTableConfiguration
"""
_OBJECT = """
GetObject GetObjectVersion PutObject DeleteObject DeleteObjectVersion GetObjectAcl PutObjectAcl
GetObjectVersionAcl PutObjectVersionAcl GetObjectTagging PutObjectTagging DeleteObjectTagging
GetObjectVersionTagging PutObjectVersionTagging DeleteObjectVersionTagging GetObjectAttributes
GetObjectVersionAttributes GetObjectRetention PutObjectRetention GetObjectLegalHold
PutObjectLegalHold BypassGovernanceRetention AbortMultipartUpload ListMultipartUploadParts
RestoreObject GetObjectTorrent GetObjectVersionTorrent ReplicateObject ReplicateDelete
ReplicateTags ObjectOwnerOverrideToBucketOwner GetObjectVersionForReplication
"""

S3_ACTIONS: dict[str, Kind] = {
    **{f"s3:{n.lower()}": "service" for n in _SERVICE.split()},
    **{f"s3:{n.lower()}": "bucket" for n in _BUCKET.split()},
    **{f"s3:{n.lower()}": "object" for n in _OBJECT.split()},
}
