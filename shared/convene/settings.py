"""The environment, parsed once per execution environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What every function reads from its environment (template.yaml Globals)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    stage: str = Field("dev", alias="STAGE")
    table_name: str = Field("convene-main", alias="TABLE_NAME")
    outbox_table_name: str = Field("convene-outbox", alias="OUTBOX_TABLE_NAME")
    idempotency_table_name: str = Field("convene-idempotency", alias="IDEMPOTENCY_TABLE_NAME")
    site_url: str = Field("http://localhost:3000", alias="SITE_URL")
    allowed_origin: str = Field("http://localhost:3000", alias="ALLOWED_ORIGIN")
    user_pool_id: str = Field("", alias="USER_POOL_ID")
    user_pool_client_id: str = Field("", alias="USER_POOL_CLIENT_ID")
    cognito_issuer: str = Field("", alias="COGNITO_ISSUER")
    # In AWS the key set sits under the issuer; the offline twin points this at moto.
    cognito_jwks_url: str = Field("", alias="COGNITO_JWKS_URL")
    max_body_bytes: int = Field(64 * 1024, alias="MAX_BODY_BYTES")

    @property
    def jwks_url(self) -> str:
        return self.cognito_jwks_url or f"{self.cognito_issuer}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    import os

    return Settings.model_validate(dict(os.environ))
