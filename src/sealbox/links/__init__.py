"""Links you control (issue 13): managed links and revocation.

- ``model``: links, specs and revocations as values, the refusal reasons
  (pure);
- ``create``: ``create_link``, the one way a link is made (the admin API,
  the CLI through it, and the signing endpoint);
- ``revoke``: which link a URL is (managed, S3 SigV4/SigV2 presigned,
  CloudFront signed URL or cookies), checked against this server's keys;
- ``store``: the two tables' queries, a mixin of both MetaStores;
- ``terms``: a link's terms, what a request brings to them, and the one
  judgement of the one by the other (pure);
- ``gate``: the check on the request path, after the signature and the
  access decision, with the revoked set kept per access version and
  unlimited links' terms held in memory;
- ``uses``: every other link's requests judged and counted in batches, one
  write transaction each (``store.admit_links``).
"""
