"""Settings: defaults, the three layers and their order, and one-line errors without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from config import (
    CONFIG_ENV,
    Settings,
    SettingsError,
    env_name,
    load_settings,
    redact_url,
    setting_docs,
)

TOKEN = "t0ken-of-sixteen-chars"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(
    env: dict[str, str] | None = None,
    overrides: dict[str, object] | None = None,
    config_file: Path | None = None,
) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(overrides, env=env, config_file=config_file)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("key", "default"),
    [
        ("host", "127.0.0.1"),
        ("port", 8080),
        ("data_dir", Path(".hub")),
        ("database_url", None),
        ("nats_url", None),
        ("api_token", None),
        ("secret_key", None),
        ("log_level", "INFO"),
        ("retention_logs_days", 30),
        ("retention_events_days", 7),
        ("retention_webhook_payload_days", 14),
        ("default_schedule", "*/15 * * * *"),
        ("schedule_jitter_seconds", 30),
        ("webhook_max_body_bytes", 1024 * 1024),
        ("webhook_max_attempts", 5),
        ("webhook_retry_seconds", 30),
        ("webhook_retry_max_seconds", 3600),
    ],
)
def test_settings_default_when_nothing_is_set(key: str, default: object) -> None:
    assert getattr(load_settings(), key) == default


def test_settings_defaults_cover_every_setting() -> None:
    assert len(Settings.model_fields) == 17


def test_settings_constructor_ignores_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PORT", "1234")
    assert Settings().port == 8080
    assert load_settings(env={}).port == 8080


@pytest.mark.parametrize(
    ("variable", "raw", "key", "expected"),
    [
        ("HUB_HOST", "0.0.0.0", "host", "0.0.0.0"),
        ("HUB_PORT", "9000", "port", 9000),
        ("HUB_DATA_DIR", "/var/lib/hub", "data_dir", Path("/var/lib/hub")),
        ("HUB_NATS_URL", "nats://127.0.0.1:4222", "nats_url", "nats://127.0.0.1:4222"),
        ("HUB_NATS_URL", "tls://nats.example.com", "nats_url", "tls://nats.example.com"),
        ("HUB_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("HUB_RETENTION_LOGS_DAYS", "90", "retention_logs_days", 90),
        ("HUB_RETENTION_EVENTS_DAYS", "1", "retention_events_days", 1),
        ("HUB_RETENTION_WEBHOOK_PAYLOAD_DAYS", "3", "retention_webhook_payload_days", 3),
        ("HUB_DEFAULT_SCHEDULE", "@hourly", "default_schedule", "@hourly"),
        ("HUB_SCHEDULE_JITTER_SECONDS", "0", "schedule_jitter_seconds", 0),
        ("HUB_WEBHOOK_MAX_BODY_BYTES", "2048", "webhook_max_body_bytes", 2048),
        ("HUB_WEBHOOK_MAX_ATTEMPTS", "12", "webhook_max_attempts", 12),
        ("HUB_WEBHOOK_RETRY_SECONDS", "5", "webhook_retry_seconds", 5),
        ("HUB_WEBHOOK_RETRY_MAX_SECONDS", "600", "webhook_retry_max_seconds", 600),
    ],
)
def test_load_settings_env_variable_sets_value(
    variable: str, raw: str, key: str, expected: object
) -> None:
    assert getattr(load_settings(env={variable: raw}), key) == expected


def test_load_settings_secrets_from_env_are_secret_strings() -> None:
    url = "postgresql://hub:pw@db.example.com:5432/hub"
    settings = load_settings(
        env={"HUB_API_TOKEN": TOKEN, "HUB_SECRET_KEY": "k1:abc", "HUB_DATABASE_URL": url}
    )
    assert isinstance(settings.api_token, SecretStr)
    assert settings.api_token.get_secret_value() == TOKEN
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "k1:abc"
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url


def test_load_settings_toml_file_sets_values(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'port = 9000\nhost = "0.0.0.0"\nlog_level = "WARNING"\n')
    settings = load_settings(config_file=path)
    assert (settings.port, settings.host, settings.log_level) == (9000, "0.0.0.0", "WARNING")


def test_load_settings_env_wins_over_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'port = 9000\nhost = "0.0.0.0"\n')
    settings = load_settings(env={"HUB_PORT": "9100"}, config_file=path)
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"


def test_load_settings_override_wins_over_env_and_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 9000\n")
    settings = load_settings({"port": 9200}, env={"HUB_PORT": "9100"}, config_file=path)
    assert settings.port == 9200


def test_load_settings_none_override_is_skipped() -> None:
    assert load_settings({"port": None, "host": None}, env={"HUB_PORT": "9100"}).port == 9100


def test_load_settings_hub_config_names_the_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 9000\n")
    assert load_settings(env={CONFIG_ENV: str(path)}).port == 9000


def test_load_settings_explicit_file_wins_over_hub_config(tmp_path: Path) -> None:
    named = _toml(tmp_path, "port = 9000\n")
    explicit = tmp_path / "other.toml"
    explicit.write_text("port = 9001\n", encoding="utf-8")
    assert load_settings(env={CONFIG_ENV: str(named)}, config_file=explicit).port == 9001


def test_load_settings_empty_variable_counts_as_unset() -> None:
    settings = load_settings(env={"HUB_API_TOKEN": "", "HUB_PORT": "", CONFIG_ENV: ""})
    assert settings.api_token is None
    assert settings.port == 8080


def test_load_settings_unrelated_variables_are_ignored() -> None:
    settings = load_settings(env={"HUB_REQUIRE_PEERS": "1", "PATH": "/bin", "hub_port": "1"})
    assert settings.port == 8080


def test_load_settings_missing_explicit_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    assert _error(config_file=path) == f"config file not found: {path}"


def test_load_settings_missing_hub_config_file_names_variable(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    assert _error(env={CONFIG_ENV: str(path)}) == f"HUB_CONFIG: config file not found: {path}"


def test_load_settings_directory_as_file_names_it(tmp_path: Path) -> None:
    assert _error(config_file=tmp_path).startswith(f"cannot read config file {tmp_path}: ")


def test_load_settings_invalid_toml_names_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = \n")
    assert _error(config_file=path).startswith(f"{path}: not valid TOML: ")


def test_load_settings_non_utf8_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_bytes(b'host = "\xff"\n')
    assert _error(config_file=path) == f"{path}: not valid UTF-8"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HUB_PORT": "99999"}, "HUB_PORT: must be between 0 and 65535 (got '99999')"),
        ({"HUB_PORT": "-1"}, "HUB_PORT: must be between 0 and 65535 (got '-1')"),
        ({"HUB_PORT": "eighty"}, "HUB_PORT: must be a whole number (got 'eighty')"),
        ({"HUB_HOST": "local host"}, "HUB_HOST: must be a host name or address without spaces"),
        ({"HUB_DATA_DIR": "a\x00b"}, "HUB_DATA_DIR: must not contain NUL characters"),
        (
            {"HUB_LOG_LEVEL": "loud"},
            "HUB_LOG_LEVEL: must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'loud')",
        ),
        (
            {"HUB_RETENTION_LOGS_DAYS": "0"},
            "HUB_RETENTION_LOGS_DAYS: must be between 1 and 3650 (got '0')",
        ),
        (
            {"HUB_RETENTION_EVENTS_DAYS": "0"},
            "HUB_RETENTION_EVENTS_DAYS: must be between 1 and 3650 (got '0')",
        ),
        (
            {"HUB_RETENTION_WEBHOOK_PAYLOAD_DAYS": "x"},
            "HUB_RETENTION_WEBHOOK_PAYLOAD_DAYS: must be a whole number (got 'x')",
        ),
        (
            {"HUB_DEFAULT_SCHEDULE": "61 * * * *"},
            "HUB_DEFAULT_SCHEDULE: not a valid cron expression: '61 * * * *'",
        ),
        (
            {"HUB_DEFAULT_SCHEDULE": "* * * * * *"},
            "HUB_DEFAULT_SCHEDULE: not a valid cron expression: '* * * * * *' has 6 fields",
        ),
        (
            {"HUB_DEFAULT_SCHEDULE": "0 0 31 2 *"},
            "HUB_DEFAULT_SCHEDULE: cron expression '0 0 31 2 *' never matches a date",
        ),
        (
            {"HUB_SCHEDULE_JITTER_SECONDS": "-5"},
            "HUB_SCHEDULE_JITTER_SECONDS: must be between 0 and 3600 (got '-5')",
        ),
        (
            {"HUB_WEBHOOK_MAX_BODY_BYTES": "0"},
            "HUB_WEBHOOK_MAX_BODY_BYTES: must be between 1 and 67108864 (got '0')",
        ),
        (
            {"HUB_WEBHOOK_MAX_ATTEMPTS": "0"},
            "HUB_WEBHOOK_MAX_ATTEMPTS: must be between 1 and 100 (got '0')",
        ),
        (
            {"HUB_WEBHOOK_RETRY_SECONDS": "soon"},
            "HUB_WEBHOOK_RETRY_SECONDS: must be a whole number (got 'soon')",
        ),
        (
            {"HUB_WEBHOOK_RETRY_SECONDS": "60", "HUB_WEBHOOK_RETRY_MAX_SECONDS": "10"},
            "HUB_WEBHOOK_RETRY_MAX_SECONDS: must be at least webhook_retry_seconds (60), got 10",
        ),
        ({"HUB_NATS_URL": "http://nats:4222"}, "HUB_NATS_URL: must start with nats:// or tls://"),
        ({"HUB_NATS_URL": "nats://"}, "HUB_NATS_URL: must name a host"),
        (
            {"HUB_DATABASE_URL": "mysql://db/hub"},
            "HUB_DATABASE_URL: must start with postgresql:// or postgres://",
        ),
        (
            {"HUB_DATABASE_URL": "postgresql://db:port/hub"},
            "HUB_DATABASE_URL: is not a valid URL (check the host and port)",
        ),
        ({"HUB_API_TOKEN": "short"}, "HUB_API_TOKEN: must be at least 16 characters long"),
    ],
)
def test_load_settings_bad_env_value_names_variable(env: dict[str, str], expected: str) -> None:
    assert _error(env=env).startswith(expected)


def test_load_settings_bad_toml_value_names_key_and_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 99999\n")
    message = _error(config_file=path)
    assert message == f"port in {path}: must be between 0 and 65535 (got 99999)"


def test_load_settings_unknown_toml_key_names_it(tmp_path: Path) -> None:
    path = _toml(tmp_path, "prot = 8080\n")
    assert _error(config_file=path) == f"prot in {path}: unknown setting"


def test_load_settings_bad_override_names_flag() -> None:
    message = _error(overrides={"port": 70000, "data_dir": 5})
    assert message == (
        "--port: must be between 0 and 65535 (got 70000); --data-dir: must be a path (got 5)"
    )


def test_load_settings_env_error_wins_attribution_over_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 9000\n")
    assert _error(env={"HUB_PORT": "x"}, config_file=path).startswith("HUB_PORT: ")


@pytest.mark.parametrize(
    ("variable", "secret"),
    [
        ("HUB_API_TOKEN", "tooShortS3cret"),
        ("HUB_API_TOKEN", "has a space in the s3cret"),
        ("HUB_DATABASE_URL", "mysql://hub:S3cretPassw0rd@db/hub"),
        ("HUB_DATABASE_URL", "postgresql://hub:S3cretPassw0rd@db:nope/hub"),
        ("HUB_NATS_URL", "http://hub:S3cretPassw0rd@nats:4222"),
        ("HUB_SECRET_KEY", "S3cret\x00key"),
    ],
)
def test_load_settings_bad_secret_env_value_not_echoed(variable: str, secret: str) -> None:
    message = _error(env={variable: secret})
    assert message.startswith(f"{variable}: ")
    assert secret not in message
    assert "S3cret" not in message


def test_load_settings_bad_secret_toml_value_not_echoed(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'api_token = "S3cretButShort"\ndatabase_url = 42\n')
    message = _error(config_file=path)
    assert message == (
        f"database_url in {path}: must be text; "
        f"api_token in {path}: must be at least 16 characters long"
    )
    assert "S3cret" not in message


def test_load_settings_misspelled_toml_key_value_not_echoed(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'api_tokn = "S3cret-value-of-some-length"\n')
    message = _error(config_file=path)
    assert message == f"api_tokn in {path}: unknown setting"


def test_load_settings_error_hides_validation_error_cause() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"HUB_API_TOKEN": "S3cretButShort"})
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1


def test_settings_repr_hides_secrets() -> None:
    settings = load_settings(
        env={
            "HUB_API_TOKEN": TOKEN,
            "HUB_SECRET_KEY": "S3cretKey",
            "HUB_DATABASE_URL": "postgresql://hub:S3cretPassw0rd@db/hub",
        }
    )
    shown = f"{settings!r} {settings} {settings.model_dump_json()}"
    for secret in (TOKEN, "S3cretKey", "S3cretPassw0rd"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://hub:pw@db:5432/hub", "postgresql://hub:***@db:5432/hub"),
        ("postgres://hub@db/hub", "postgres://hub@db/hub"),
        ("postgresql://db/hub", "postgresql://db/hub"),
        ("postgresql://hub:p%40ss@[::1]:5432/hub", "postgresql://hub:***@[::1]:5432/hub"),
        (
            "postgresql://db/hub?user=hub&password=pw&sslmode=require",
            "postgresql://db/hub?user=hub&password=***&sslmode=require",
        ),
    ],
)
def test_redacted_database_url_hides_password(url: str, redacted: str) -> None:
    settings = load_settings(env={"HUB_DATABASE_URL": url})
    assert settings.redacted_database_url == redacted


def test_redacted_database_url_none_when_unset() -> None:
    assert load_settings().redacted_database_url is None


def test_redacted_nats_url_hides_password() -> None:
    settings = load_settings(env={"HUB_NATS_URL": "nats://hub:pw@nats:4222"})
    assert settings.redacted_nats_url == "nats://hub:***@nats:4222"


@pytest.mark.parametrize(
    "url",
    [
        "nats://127.0.0.1:4222",
        "postgresql:///hub?host=/var/run/postgresql&sslrootcert=/etc/ca%20file.pem",
    ],
)
def test_redact_url_without_password_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_redact_url_unparsable_hides_everything() -> None:
    assert redact_url("postgresql://hub:pw@[::1/hub") == "***"


def test_setting_docs_cover_every_setting_with_description() -> None:
    docs = setting_docs()
    assert [doc.key for doc in docs] == list(Settings.model_fields)
    assert all(doc.description for doc in docs)
    port = next(doc for doc in docs if doc.key == "port")
    assert (port.env, port.default) == ("HUB_PORT", "8080")


def test_env_name_is_prefixed_upper_case() -> None:
    assert env_name("data_dir") == "HUB_DATA_DIR"
