"""The gateway's settings: one typed object, read from ``BERTH_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from projections.settings import ReadStoreSettings
from services.manager.settings import NatsSettings, data_dir

MIB = 1024 * 1024


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8480
    #: request bodies larger than this are refused with 413 before they are read in full
    max_body_bytes: int = MIB
    #: how far a signed request's date may be from the gateway's clock, in seconds; also
    #: how long a seen signature is remembered to refuse replays
    clock_skew: float = 300.0
    #: seconds a keypair looked up from the manager is reused before asking again
    keypair_cache_ttl: float = 5.0
    #: seconds the gateway waits for the manager or an agent to answer
    request_timeout: float = 10.0
    #: longest bearer token lifetime a caller may ask for, in seconds
    max_token_ttl: int = 7 * 24 * 3600
    #: lifetime of a browser login cookie, in seconds
    cookie_ttl: int = 12 * 3600
    #: where the gateway keeps its signing key (``gateway.key``, mode 0600)
    data_dir: Path = field(default_factory=data_dir)
    nats: NatsSettings = field(default_factory=NatsSettings)
    read_store: ReadStoreSettings = field(default_factory=ReadStoreSettings)

    @property
    def key_path(self) -> Path:
        return self.data_dir / "gateway.key"

    @classmethod
    def from_env(cls) -> GatewaySettings:
        env = os.environ
        return cls(
            host=env.get("BERTH_GATEWAY_HOST", cls.host),
            port=int(env.get("BERTH_GATEWAY_PORT", cls.port)),
            max_body_bytes=int(env.get("BERTH_GATEWAY_MAX_BODY_BYTES", cls.max_body_bytes)),
            clock_skew=float(env.get("BERTH_GATEWAY_CLOCK_SKEW", cls.clock_skew)),
            keypair_cache_ttl=float(env.get("BERTH_GATEWAY_KEY_CACHE_TTL", cls.keypair_cache_ttl)),
            request_timeout=float(env.get("BERTH_GATEWAY_REQUEST_TIMEOUT", cls.request_timeout)),
            max_token_ttl=int(env.get("BERTH_GATEWAY_MAX_TOKEN_TTL", cls.max_token_ttl)),
            cookie_ttl=int(env.get("BERTH_GATEWAY_COOKIE_TTL", cls.cookie_ttl)),
            data_dir=data_dir(),
            nats=NatsSettings.from_env(),
            read_store=ReadStoreSettings.from_env(),
        )
