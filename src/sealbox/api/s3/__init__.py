"""The S3 API: buckets, objects, listing, multipart, POST forms, tagging, ACLs, policies, CORS."""
