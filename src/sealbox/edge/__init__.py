"""Serving distributions to viewers, as CloudFront does: behaviours, signed
URLs and cookies, the origin reached through OAC, the disk cache and
CloudFront's own pages."""
