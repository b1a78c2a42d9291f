"""The service's exception types and the HTTP status each one means, in one table.

Logic raises these (or the input checks' own types); the app maps them to responses, so no
route picks a status code by reading a message.
"""

from __future__ import annotations

from runtime.site_ids import BadSiteId
from service.imaging import BadImage, UnsupportedContentType


class Unavailable(RuntimeError):
    """A dependency (Redis, the broker) is away; the request may be retried later."""


class Conflict(RuntimeError):
    """The request does not fit the site's state (too few buffered crops, say)."""


class NotFound(LookupError):
    """The named job, site or version does not exist."""


class TooLarge(ValueError):
    """The request body is over the configured limit."""


class BadRequest(ValueError):
    """A request whose shape is wrong (a malformed multipart body, several frames where one goes)."""


# Most specific first: the first type an exception is an instance of gives its status.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnsupportedContentType, 415),
    (BadImage, 400),
    (BadRequest, 400),
    (BadSiteId, 422),
    (TooLarge, 413),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
)
RETRY_AFTER_S = 5  # told to clients of an Unavailable answer


def status_of(exc: Exception) -> int:
    """The HTTP status for one of the types in :data:`STATUS`."""
    for kind, code in STATUS:
        if isinstance(exc, kind):
            return code
    raise ValueError(f"no status is mapped for {type(exc).__name__}")
