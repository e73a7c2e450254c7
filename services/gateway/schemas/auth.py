"""Bodies of ``/v1/auth``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Body


class TokenCreate(Body):
    ttl_seconds: int = Field(default=3600, ge=1)


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class Login(Body):
    access_key: str = Field(min_length=1, max_length=128)
    secret_key: str = Field(min_length=1, max_length=256)


class LoggedIn(BaseModel):
    access_key: str
    username: str
    role: str


class WhoAmI(BaseModel):
    access_key: str
    user_id: str
    username: str
    role: str
    domain: str
    projects: list[str]
