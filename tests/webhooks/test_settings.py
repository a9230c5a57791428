"""The webhook settings: their defaults, and a clear refusal of what cannot be used."""

import pytest

from todo_api.config import ConfigError, load_settings


def test_the_defaults_are_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env
    settings = load_settings(_env_file=None)
    assert settings.webhook_timeout_seconds == 10
    assert settings.webhook_retry_schedule == (5, 300, 1800, 7200, 18000, 36000)
    assert settings.webhook_disable_after == 10
    assert settings.webhook_allow_private_urls is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.2,0.2", (0.2, 0.2)), (" 5 , 60 ", (5.0, 60.0)), ("", ()), ("0", (0.0,))],
)
def test_a_retry_schedule_is_seconds_separated_by_commas(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[float, ...]
) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", value)
    assert load_settings(_env_file=None).webhook_retry_schedule == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_RETRY_SCHEDULE", "5,soon"),
        ("WEBHOOK_RETRY_SCHEDULE", "-1"),
        ("WEBHOOK_RETRY_SCHEDULE", "nan"),
        ("WEBHOOK_RETRY_SCHEDULE", "1e9"),
        ("WEBHOOK_RETRY_SCHEDULE", ",".join(["1"] * 21)),
        ("WEBHOOK_TIMEOUT_SECONDS", "0"),
        ("WEBHOOK_TIMEOUT_SECONDS", "51"),
        ("WEBHOOK_DISABLE_AFTER", "0"),
        ("WEBHOOK_ALLOW_PRIVATE_URLS", "perhaps"),
        ("WEBHOOK_POLL_SECONDS", "0"),
    ],
)
def test_a_setting_that_cannot_be_used_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings(_env_file=None)
