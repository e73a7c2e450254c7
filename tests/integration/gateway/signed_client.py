"""A small client that signs requests the way the REST API's contract says, for tests.

It implements the canonical string on its own (not with the gateway's code), so
the tests check the gateway against the contract rather than against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import requests

SCHEME = "BERTH-HMAC-SHA256"


def berth_date(moment: datetime | None = None) -> str:
    # Fractions of a second: two identical requests in one second must not sign alike.
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SignedClient:
    def __init__(
        self, base_url: str, access_key: str, secret_key: str, *, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.timeout = timeout
        self.http = requests.Session()

    def prepare(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        date: datetime | None = None,
        content_sha256: str | None = None,
    ) -> requests.PreparedRequest:
        """The signed request, not sent (a test may tamper with it before sending)."""
        raw = json.dumps(json_body).encode() if json_body is not None else (body or b"")
        all_headers = dict(headers or {})
        if json_body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        request = requests.Request(
            method, self.base_url + path, data=raw, params=params, headers=all_headers
        ).prepare()
        digest = content_sha256 or hashlib.sha256(raw).hexdigest()
        stamp = berth_date(date)
        host = self.base_url.split("://", 1)[1].split("/", 1)[0].lower()
        canonical = "\n".join(
            [
                method.upper(),
                str(request.path_url),
                host,
                stamp,
                all_headers.get("Content-Type", "").lower(),
                digest,
            ]
        )
        signature = hmac.new(self.secret_key.encode(), canonical.encode(), hashlib.sha256)
        request.headers["X-Berth-Date"] = stamp
        request.headers["X-Berth-Content-SHA256"] = digest
        request.headers["Authorization"] = (
            f"{SCHEME} Credential={self.access_key}, Signature={signature.hexdigest()}"
        )
        return request

    def send(self, request: requests.PreparedRequest, *, stream: bool = False) -> requests.Response:
        return self.http.send(request, timeout=self.timeout, stream=stream)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        stream = kwargs.pop("stream", False)
        return self.send(self.prepare(method, path, **kwargs), stream=stream)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def patch(self, path: str, json_body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json_body=json_body, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
