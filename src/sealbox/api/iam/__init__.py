"""The IAM Query API (POST / with Action=…), as Ceph RGW serves it on its S3 endpoint."""
