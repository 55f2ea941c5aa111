"""Access logs delivered as objects: S3 server access logs (a bucket's
``PutBucketLogging``) and CloudFront standard logs (a distribution's
``Logging``). ``targets``, ``s3_format`` and ``cloudfront_format`` are pure;
``delivery`` buffers the records and writes the log objects."""
