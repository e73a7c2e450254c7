"""The gateway's app with its manager faked: authentication and errors without any server."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fastapi import FastAPI
from nats.aio.client import Client as NATS

from projections.queries import Reader
from services.gateway.app import create_app
from services.gateway.auth.hmac import ReplayCache
from services.gateway.auth.keypairs import KeypairCache
from services.gateway.auth.principal import Authenticator
from services.gateway.auth.tokens import TokenSigner
from services.gateway.read_models import ReadModelsUnavailable
from services.gateway.settings import GatewaySettings
from services.gateway.state import GatewayState
from services.gateway.telemetry import TelemetryCache
from tests.unit.gateway.asgi import Reply, call
from tests.unit.gateway.fakes import FakeManager

HOST = "testserver"


@contextmanager
def no_read_models() -> Iterator[Reader]:
    raise ReadModelsUnavailable("the read models do not exist yet")
    yield  # pragma: no cover


@dataclass
class FakeGateway:
    app: FastAPI
    manager: FakeManager
    state: GatewayState

    async def signed(
        self,
        method: str,
        path: str,
        *,
        access_key: str = "AK1",
        secret_key: str = "secret",
        body: bytes = b"",
        query: str = "",
        content_type: str = "",
        date: datetime | None = None,
        extra: tuple[tuple[str, str], ...] = (),
        chunks: list[bytes] | None = None,
    ) -> Reply:
        """A signed request; with ``chunks``, their bytes are the body, sent piece by piece."""
        if chunks is not None:
            body = b"".join(chunks)
        stamp = (date or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        digest = hashlib.sha256(body).hexdigest()
        target = f"{path}?{query}" if query else path
        canonical = "\n".join([method, target, HOST, stamp, content_type, digest])
        signature = hmac.new(secret_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
        headers = [
            ("host", HOST),
            ("x-berth-date", stamp),
            ("x-berth-content-sha256", digest),
            ("authorization", f"BERTH-HMAC-SHA256 Credential={access_key}, Signature={signature}"),
            *extra,
        ]
        if content_type:
            headers.append(("content-type", content_type))
        return await call(
            self.app, method, path, query=query, headers=headers, body=body, chunks=chunks
        )


def fake_gateway(tmp_path: Path, max_body_bytes: int = 1024) -> FakeGateway:
    settings = GatewaySettings(data_dir=tmp_path, max_body_bytes=max_body_bytes)
    app = create_app(settings)
    manager = FakeManager()
    manager.add_keypair("AK1", "secret")
    manager.add_keypair("AKADMIN", "admin-secret", role="superadmin", username="root")
    tokens = TokenSigner(b"k" * 32)
    keypairs = KeypairCache(manager, ttl=5)
    authenticator = Authenticator(keypairs, tokens, ReplayCache(300), clock_skew=300)
    state = GatewayState(
        settings=settings,
        nc=cast(NATS, None),
        manager=manager,
        read_connection=no_read_models,
        authenticate=authenticator,
        authenticate_token=authenticator.token,
        telemetry=TelemetryCache(),
        tokens=tokens,
        keypairs=keypairs,
    )
    app.state.gateway = state
    return FakeGateway(app=app, manager=manager, state=state)
