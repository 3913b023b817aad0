"""All configuration, read once from the environment (DRIPSTONE_*, plus DATABASE_URL).

Defaults are the embedded set-up: a local dev server, a SQLite file under ./data and
the built-in outbox instead of real e-mail and SMS providers.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRIPSTONE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DRIPSTONE_DATABASE_URL")
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "dripstone-journeys"
    temporal_ui_port: int = 8233

    email_provider: Literal["outbox", "sendgrid"] = "outbox"
    sms_provider: Literal["outbox", "twilio"] = "outbox"
    email_from: str = "hello@dripstone.local"

    sendgrid_api_key: str | None = None
    sendgrid_base_url: str = Field(default="https://api.sendgrid.com",
                                   description="Override only to point at a test double.")
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_base_url: str | None = Field(default=None,
                                        description="Override only to point at a test double.")

    @model_validator(mode="after")
    def _providers_need_credentials(self) -> "Settings":
        if self.email_provider == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError("DRIPSTONE_SENDGRID_API_KEY is required when email_provider=sendgrid")
        if self.sms_provider == "twilio":
            missing = [name for name, value in (
                ("DRIPSTONE_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                ("DRIPSTONE_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
            ) if not value]
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                missing.append("DRIPSTONE_TWILIO_FROM_NUMBER or DRIPSTONE_TWILIO_MESSAGING_SERVICE_SID")
            if missing:
                raise ValueError(f"sms_provider=twilio needs {', '.join(missing)}")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'dripstone.db').as_posix()}"
