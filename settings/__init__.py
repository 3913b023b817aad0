"""All configuration, read once from the environment (DRIPSTONE_*, plus DATABASE_URL).

Defaults are the embedded set-up: a local dev server, a SQLite file under ./data and
the built-in outbox instead of real e-mail and SMS providers.
"""

from pathlib import Path

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from settings.messaging import MessagingSettings
from settings.processes import ProcessSettings
from settings.temporal import (
    TLS_FILES,
    TemporalSettings,
    temporal_address_problem,
    temporal_tls_problems,
)


class _NotJson(str):
    """The text of a JSON setting that does not parse, handed on to its field's check."""


class _JsonEnvSource(EnvSettingsSource):
    """A JSON setting (a list, an object) that does not parse reaches validation as
    _NotJson, where its variable is named with the form wanted, instead of
    pydantic-settings' SettingsError (a traceback, no reason)."""

    def decode_complex_value(self, field_name, field, value):
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            return _NotJson(value)


# The form each JSON setting takes, shown when its value is no JSON.
_JSON_FORMS = {
    "api_keys": 'a list, e.g. ["key"]',
    "codec_api_keys": 'a list, e.g. ["key"]',
    "codec_cors_origins": 'a list, e.g. ["http://localhost:8233"]',
    "lead_routers": 'an object, e.g. {"sales": ["ann", "bob"]}',
    "codec_keys": 'an object, e.g. {"k1": "BASE64 OF 32 BYTES"}',
    "provider_rates": 'an object, e.g. {"sendgrid": 100}',
    "frequency_caps": 'an object, e.g. {"email": {"messages": 3, "within": "7d"}}',
    "subscription_topics": 'an object, e.g. {"news": "Newsletter"}',
}


class StorageSettings(BaseModel):
    """Where the data lives: a SQLite file under data_dir, or DATABASE_URL."""

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DRIPSTONE_DATABASE_URL")
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'dripstone.db').as_posix()}"


# Listed last group first: pydantic takes fields (and so the order errors are named in)
# from the last base first, which keeps the order of the single class this was.
class Settings(ProcessSettings, MessagingSettings, TemporalSettings, StorageSettings, BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print every value read,
    # API keys and tokens included.
    model_config = SettingsConfigDict(
        env_prefix="DRIPSTONE_", extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls,
        init_settings: PydanticBaseSettingsSource,
        env_settings,
        dotenv_settings,
        file_secret_settings,
    ):
        return (init_settings, _JsonEnvSource(settings_cls), dotenv_settings, file_secret_settings)

    @field_validator(*_JSON_FORMS, mode="before")
    @classmethod
    def _json_that_parses(cls, value, info):
        if isinstance(value, _NotJson):
            raise ValueError(f"must be JSON ({_JSON_FORMS[info.field_name]})")
        return value


def settings_problems(exc: ValidationError) -> str:
    """Settings that do not validate, in one line naming each by its variable."""
    return "; ".join(
        (f"DRIPSTONE_{str(error['loc'][0]).upper()}: " if error["loc"] else "")
        + error["msg"].removeprefix("Value error, ")
        for error in exc.errors()
    )


__all__ = [
    "TLS_FILES",
    "Settings",
    "settings_problems",
    "temporal_address_problem",
    "temporal_tls_problems",
]
