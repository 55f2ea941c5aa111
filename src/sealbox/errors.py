"""One S3 error type, backed by one catalogue of AWS error codes.

Every failure a client can cause is an ``S3Error`` whose code, HTTP status
and default message come from ``CATALOGUE``, the table below, copied from
the "Error responses" page of the Amazon S3 API reference. Extra fields
(``BucketName``, ``Key``, ``StringToSign`` …) are rendered as child
elements of ``<Error>`` exactly as S3 sends them; rendering happens in one
place (``sealbox.server.responses``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    """The HTTP status and default message S3 uses for one error code."""

    status: int
    message: str


# code -> (status, message). Messages are S3's own wording, so clients and
# people searching for them find the AWS documentation.
CATALOGUE: dict[str, ErrorSpec] = {
    code: ErrorSpec(status, message)
    for code, status, message in [
        ("AccessDenied", 403, "Access Denied"),
        # S3's answer to a CORS preflight it refuses (message "CORSResponse: …").
        ("AccessForbidden", 403, "Access Forbidden"),
        ("AuthorizationHeaderMalformed", 400, "The authorization header is malformed."),
        ("AuthorizationQueryParametersError", 400, "Error parsing the query parameters."),
        ("BadRequest", 400, "Bad Request"),
        ("BadDigest", 400, "The Content-MD5 you specified did not match what we received."),
        (
            "BucketAlreadyExists",
            409,
            ("The requested bucket name is not available. The bucket namespace is shared by "
             "all users of the system. Please select a different name and try again."),
        ),
        (
            "BucketAlreadyOwnedByYou",
            409,
            "Your previous request to create the named bucket succeeded and you already own it.",
        ),
        ("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
        (
            "ConditionalRequestConflict",
            409,
            ("The conditional request cannot succeed due to a conflicting operation against "
             "this resource."),
        ),
        ("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"),
        ("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."),
        (
            "IllegalLocationConstraintException",
            400,
            "The specified location-constraint is not valid",
        ),
        (
            "IncorrectNumberOfFilesInPostRequest",
            400,
            "POST requires exactly one file upload per request.",
        ),
        (
            "IncompleteBody",
            400,
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        ),
        # Not one of S3's (S3 never fills up): the disk, a quota or the database
        # is full (sealbox.store.full). 507 rather than 503 SlowDown, because a
        # full disk does not clear in the seconds a client backs off: every AWS
        # SDK retries 503 and SlowDown (botocore: 5 tries in legacy mode, and
        # "adaptive" mode slows the whole client down; rclone: 10 low-level
        # retries), each try sending the whole body again to a disk that cannot
        # take it, which is how a 500 here was retried without end. No SDK
        # retries 507 (RFC 4918's "Insufficient Storage"): the upload fails at
        # once and says why. MinIO answers a full drive the same way (507
        # XMinioStorageFull), so S3 clients already meet it.
        (
            "InsufficientStorage",
            507,
            ("The server has no space left to store this request. Objects already stored "
             "can still be read."),
        ),
        ("InternalError", 500, "We encountered an internal error. Please try again."),
        # What S3 answers when it throttles; ours when the blob backend is busy.
        ("SlowDown", 503, "Please reduce your request rate."),
        (
            "InvalidAccessKeyId",
            403,
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        ("CrossLocationLoggingProhibitted", 403, "Cross S3 location logging not allowed."),
        ("InvalidArgument", 400, "Invalid Argument"),
        ("InvalidEncryptionAlgorithmError", 400,
         "The encryption request you specified is not valid. The valid value is AES256."),
        ("ServerSideEncryptionConfigurationNotFoundError", 404,
         "The server side encryption configuration was not found"),
        # SSE-KMS: what S3 relays of KMS's refusals (api/s3/kms.py).
        ("KMS.NotFoundException", 400, "Invalid keyId"),
        ("KMS.DisabledException", 400, "The KMS key is disabled."),
        ("InvalidBucketName", 400, "The specified bucket is not valid."),
        ("InvalidBucketState", 409,
         "The request is not valid with the current state of the bucket."),
        ("InvalidRetentionPeriod", 400,
         "Default retention period must be a positive integer value."),
        ("InvalidDigest", 400, "The Content-MD5 you specified was invalid."),
        (
            "InvalidLocationConstraint",
            400,
            "The specified location constraint is not valid.",
        ),
        (
            "InvalidPolicyDocument",
            400,
            ("The content of the form does not meet the conditions specified in the policy "
             "document."),
        ),
        (
            "InvalidPart",
            400,
            ("One or more of the specified parts could not be found.  The part may not have "
             "been uploaded, or the specified entity tag may not match the part's entity tag."),
        ),
        (
            "InvalidPartOrder",
            400,
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
        ),
        ("InvalidPartNumber", 416, "The requested partnumber is not satisfiable"),
        ("InvalidRange", 416, "The requested range is not satisfiable"),
        ("InvalidRequest", 400, "Invalid Request"),
        ("InvalidStorageClass", 400, "The storage class you specified is not valid"),
        ("InvalidTag", 400, "The tag provided was not a valid tag."),
        (
            "InvalidTargetBucketForLogging",
            400,
            ("The target bucket for logging does not exist, is not owned by you, or does not "
             "have the appropriate grants for the log-delivery group."),
        ),
        ("InvalidURI", 400, "Couldn't parse the specified URI."),
        ("KeyTooLongError", 400, "Your key is too long"),
        # PutBucketPolicy's answer to any fault of a policy document; the message
        # names the fault as S3 words it ("Policy has invalid action", …), see
        # sealbox.access.model.
        ("MalformedPolicy", 400, "Invalid policy syntax."),
        (
            "MalformedXML",
            400,
            ("The XML you provided was not well-formed or did not validate against our "
             "published schema"),
        ),
        (
            "MalformedPOSTRequest",
            400,
            "The body of your POST request is not well-formed multipart/form-data.",
        ),
        (
            "MalformedTrailerError",
            400,
            ("The request contained trailing data that was not well-formed or did not conform "
             "to our published schema."),
        ),
        ("MaxMessageLengthExceeded", 400, "Your request was too big."),
        (
            "MaxPostPreDataLengthExceededError",
            400,
            "Your POST request fields preceding the upload file were too large.",
        ),
        (
            "MetadataTooLarge",
            400,
            "Your metadata headers exceed the maximum allowed metadata size",
        ),
        ("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
        ("MissingContentLength", 411, "You must provide the Content-Length HTTP header."),
        ("MissingRequestBodyError", 400, "Request Body is empty"),
        ("MissingSecurityHeader", 400, "Your request is missing a required header."),
        ("NoSuchBucket", 404, "The specified bucket does not exist"),
        ("NoSuchKey", 404, "The specified key does not exist."),
        ("NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist"),
        ("NoSuchTagSet", 404, "The TagSet does not exist"),
        ("NoSuchVersion", 404, "The specified version does not exist."),
        ("ObjectLockConfigurationNotFoundError", 404,
         "Object Lock configuration does not exist for this bucket"),
        ("NoSuchObjectLockConfiguration", 404,
         "The specified object does not have a ObjectLock configuration"),
        (
            "NoSuchUpload",
            404,
            ("The specified upload does not exist. The upload ID may be invalid, or the upload "
             "may have been aborted or completed."),
        ),
        ("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"),
        ("NoSuchBucketPolicy", 404, "The bucket policy does not exist"),
        ("NoSuchPublicAccessBlockConfiguration", 404,
         "The public access block configuration was not found"),
        ("OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found"),
        ("AccessControlListNotSupported", 400, "The bucket does not allow ACLs"),
        ("InvalidBucketAclWithObjectOwnership", 400,
         "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"),
        ("UnresolvableGrantByEmailAddress", 400,
         "The email address you provided does not match any account on record."),
        ("MalformedACLError", 400,
         ("The XML you provided was not well-formed or did not validate against our published "
          "schema")),
        (
            "NotImplemented",
            501,
            "A header you provided implies functionality that is not implemented",
        ),
        ("NotModified", 304, "Not Modified"),
        ("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"),
        (
            "RequestHeaderSectionTooLarge",
            400,
            "Your request header section exceeds the maximum allowed size.",
        ),
        (
            "RequestTimeTooSkewed",
            403,
            "The difference between the request time and the current time is too large.",
        ),
        (
            "RequestTimeout",
            400,
            ("Your socket connection to the server was not read from or written to within the "
             "timeout period. Idle connections will be closed."),
        ),
        (
            "ServiceUnavailable",
            503,
            "Please reduce your request rate.",
        ),
        (
            "SignatureDoesNotMatch",
            403,
            ("The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method."),
        ),
        ("TooManyBuckets", 400, "You have attempted to create more buckets than allowed"),
        ("UnexpectedContent", 400, "This request does not support content"),
        ("OperationAborted", 409, ("A conflicting conditional operation is currently in "
          "progress against this resource. Please try again.")),
        (
            "XAmzContentSHA256Mismatch",
            400,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
    ]
}


class S3Error(Exception):
    """A failure answered with S3's XML error body.

    ``fields`` become extra child elements of ``<Error>`` in the given
    order (S3 adds e.g. ``<BucketName>`` to NoSuchBucket). ``headers`` are
    added to the response (``Allow`` on 405, ``x-amz-*`` on some errors).
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **fields: object,
    ) -> None:
        spec = CATALOGUE.get(code)
        if spec is None:
            raise KeyError(f"S3 error code {code!r} is not in the catalogue")
        self.code = code
        self.status = status if status is not None else spec.status
        self.message = message if message is not None else spec.message
        self.headers = dict(headers or {})
        self.fields: dict[str, object] = fields
        super().__init__(f"{code}: {self.message}")

    def __repr__(self) -> str:  # fields may hold a string to sign; keep reprs short
        return f"S3Error({self.code!r}, status={self.status})"
