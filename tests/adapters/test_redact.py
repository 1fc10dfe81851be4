"""Redacting URLs and scrubbing free text, without I/O."""

from __future__ import annotations

import pytest

from adapters import is_sensitive_key, redact_url, scrub_text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1/items", "https://api.example.com/v1/items"),
        ("https://api.example.com/v1?page=2&size=50", "https://api.example.com/v1?page=2&size=50"),
        (
            "https://api.example.com/v1?api_key=abc&page=2",
            "https://api.example.com/v1?api_key=REDACTED&page=2",
        ),
        (
            "https://x.example/?access_token=a&Signature=b&sig=c&X-Goog-Signature=d",
            "https://x.example/?access_token=REDACTED&Signature=REDACTED&sig=REDACTED"
            "&X-Goog-Signature=REDACTED",
        ),
        ("https://bob:pw@x.example/a", "https://REDACTED:REDACTED@x.example/a"),
        ("https://x.example/a?password=p#frag", "https://x.example/a?password=REDACTED"),
        ("https://x.example/a?page[number]=2", "https://x.example/a?page[number]=2"),
    ],
)
def test_redact_url_table(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_extra_keys_redacted() -> None:
    assert redact_url("https://x.example/?q=1&account=42", {"account"}) == (
        "https://x.example/?q=1&account=REDACTED"
    )


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("token", True),
        ("api_key", True),
        ("apiKey", True),
        ("client_secret", True),
        ("password", True),
        ("key", True),
        ("sig", True),
        ("page", False),
        ("keyword", False),
        ("limit", False),
    ],
)
def test_is_sensitive_key_table(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_scrub_text_leaves_ordinary_text_alone() -> None:
    text = "HTTP 503 Service Unavailable (retry after 2 s) for customer K10001, page=3"
    assert scrub_text(text) == text


def test_scrub_text_header_line_redacted() -> None:
    assert scrub_text("x-api-key: 12345 was refused") == "x-api-key: REDACTED"
