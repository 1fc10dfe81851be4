"""Configuration: the hub's `Settings` and each integration's configuration.

The bottom of the dependency order: imports nothing from the hub's other packages. Everything
another package may use is re-exported here; the `_modules` are internal.
"""

from config._integration import (
    MAX_CREDENTIAL_CHARS,
    MAX_CREDENTIALS,
    MAX_SETTINGS_BYTES,
    ConflictPolicy,
    IntegrationConfig,
    IntegrationInput,
    IntegrationType,
)
from config._integration_parts import (
    EndpointConfig,
    FieldMapping,
    HealthConfig,
    HttpMethod,
    RateLimitConfig,
    RetryConfig,
    ScheduleConfig,
    Transform,
    WebhookConfig,
    WebhookScheme,
)
from config._loading import (
    CONFIG_ENV,
    SettingDoc,
    SettingsError,
    env_name,
    load_settings,
    setting_docs,
)
from config._problems import FieldProblem, describe_validation_error
from config._settings import Settings, redact_url

__all__ = [
    "CONFIG_ENV",
    "MAX_CREDENTIALS",
    "MAX_CREDENTIAL_CHARS",
    "MAX_SETTINGS_BYTES",
    "ConflictPolicy",
    "EndpointConfig",
    "FieldMapping",
    "FieldProblem",
    "HealthConfig",
    "HttpMethod",
    "IntegrationConfig",
    "IntegrationInput",
    "IntegrationType",
    "RateLimitConfig",
    "RetryConfig",
    "ScheduleConfig",
    "SettingDoc",
    "Settings",
    "SettingsError",
    "Transform",
    "WebhookConfig",
    "WebhookScheme",
    "describe_validation_error",
    "env_name",
    "load_settings",
    "redact_url",
    "setting_docs",
]
