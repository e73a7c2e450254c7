"""The REST API's request and response bodies (what ``/openapi.json`` describes)."""
