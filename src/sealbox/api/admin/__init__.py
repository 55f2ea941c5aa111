"""The admin JSON API under /_sealbox/api/v1/, with its OpenAPI document."""
