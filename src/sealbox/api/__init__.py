"""What each API says, one package per family (s3, iam, cloudfront, admin)
and what they share (common); router.py and handlers.py are the main
endpoint's routing and dispatch."""
