"""sealbox: a self-hosted private S3-compatible object store with signed links."""

__version__ = "0.1.0"
