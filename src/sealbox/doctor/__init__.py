"""The signature doctor (issue 14): why a signed request fails, in plain words.

Pure, like ``auth/``: the request to judge (``model.Seen``), the clock, the
key lookup and the server's known names are arguments. One module per
family: ``sigv4`` (presigned URLs and Authorization headers), ``sigv2``,
``cloudfront`` (signed URLs of a distribution), ``links`` (managed links'
refusals), and ``model`` (causes and the verdict). Every family re-uses
``auth/`` to compute signatures; nothing here canonicalizes on its own.
"""
