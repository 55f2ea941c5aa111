"""Lifecycle (issue 16): a bucket's rules that expire objects, versions and
delete markers and abort multipart uploads. ``rules`` is pure (the rules as
values, matching, S3's day rounding, ``x-amz-expiration``); ``worker``
applies them from a background thread, one process of a cluster at a time."""
