"""The web console (issue 18): pages served by sealbox itself at
``/_sealbox/console/``, for people who share files rather than write code.

- ``sessions``: session ids, cookies, CSRF tokens and expiry (pure);
- ``calls``: requests made in-process through the app, signed as the
  signed-in principal, so IAM, bucket policies and links apply as to any
  client; and presigned URLs the browser sends itself;
- ``results``: S3's XML answers read into values;
- ``render``: the Jinja2 templates (autoescaped) and the security headers;
- ``app``: the routes, sign-in and sign-out; ``browse``, ``uploads``,
  ``share``, ``activity``: the pages and the JSON the page's script uses;
- ``access``, ``policies``, ``bucket_settings``: IAM and a bucket's
  settings; ``edge``: CloudFront's resources; ``doctor``: the signature
  doctor's page; ``chart``: bytes per day as SVG bars (pure).
"""
