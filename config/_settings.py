"""The hub's settings: `HUB_*` environment variables, read once in the composition root."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", description="Address the API and dashboard listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port of the API and dashboard.")
    data_dir: Path = Field(Path(".hub"), description="Where the embedded default keeps its data.")
