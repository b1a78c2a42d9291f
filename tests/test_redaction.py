"""service.redaction: keys are rewritten in every shape a log line may carry them."""

from __future__ import annotations

import logging

import pytest

from service.redaction import REDACTED, RedactSecrets, install


@pytest.mark.parametrize(
    "line",
    [
        "< x-api-key: s3cret-value",
        "X-API-Key=s3cret-value",
        "('x-api-key', 's3cret-value')",
        '{"x-api-key": "s3cret-value"}',
        "handshake with s3cret-value in it",
    ],
)
def test_every_shape_is_redacted(line):
    out = RedactSecrets(["s3cret-value"]).redact(line)
    assert "s3cret-value" not in out and REDACTED in out


def test_other_headers_and_lines_are_left_alone():
    r = RedactSecrets(["s3cret-value"])
    for line in ("< content-type: image/jpeg", 'POST /v1/sites/a/pose HTTP/1.1" 200'):
        assert r.redact(line) == line


def test_records_of_child_loggers_are_rewritten_by_the_parents_handlers():
    """What uvicorn does: its WebSocket protocol logs on 'uvicorn.error', the handler sits on 'uvicorn'."""
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Collect()
    parent, child = logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")
    parent.addHandler(handler)
    level = child.level
    try:
        install(["an0ther-s3cret"])
        child.setLevel(logging.DEBUG)
        child.debug("< %s: %s", "x-api-key", "an0ther-s3cret")
        child.debug("token an0ther-s3cret seen")
    finally:
        parent.removeHandler(handler)
        child.setLevel(level)
    assert seen == [f"< x-api-key: {REDACTED}", f"token {REDACTED} seen"]
