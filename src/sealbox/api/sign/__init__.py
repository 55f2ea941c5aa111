"""The signing endpoint, ``POST /_sealbox/sign`` (``endpoint``)."""
