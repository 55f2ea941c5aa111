"""CloudFront's configuration API (REST-XML, 2020-05-31): public keys, key
groups, origin access controls, distributions, invalidations."""
