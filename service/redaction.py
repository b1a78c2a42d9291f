"""API keys out of the logs, whatever logs them.

The service itself never logs a key, but the server under it may: uvicorn's WebSocket protocol
logs every handshake header at debug level, X-API-Key included (found by
tests/test_secrets_in_logs.py). A filter on the handlers that write the logs rewrites any such
record before it is written: the header's value, and the configured key wherever it appears.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"
KEY_HEADER = re.compile(r"(x-api-key[\"']?\s*[:=,]\s*[\"']?)[^\s\"',)]+", re.IGNORECASE)
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "fastapi")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        self.secrets: set[str] = {s for s in secrets or [] if s}

    def redact(self, text: str) -> str:
        text = KEY_HEADER.sub(r"\1" + REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_REDACTOR = RedactSecrets()  # one per process: every app created here adds its key to it


def install(secrets: list[str]) -> RedactSecrets:
    """Attach the filter to the loggers that carry server records and to every handler they have
    now (a logger's own filters do not see records propagated from its children; handlers do)."""
    _REDACTOR.secrets.update(s for s in secrets if s)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if _REDACTOR not in target.filters:
                target.addFilter(_REDACTOR)
    return _REDACTOR
