"""Site ids: a site id names a folder in the artifact store, so it is checked here, once, before
anything touches the disk: 1-63 characters of lower-case letters, digits, ``-`` and ``_``,
starting with a letter or digit."""

from __future__ import annotations

import re

SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # whole string: fullmatch (``$`` would let a final newline in)


class BadSiteId(ValueError):
    """A site id that could name something outside the artifact store, or nothing at all."""


def check_site_id(site_id: str) -> str:
    """``site_id`` itself when it is acceptable; :class:`BadSiteId` otherwise."""
    if not SITE_ID.fullmatch(site_id):
        raise BadSiteId(
            f"bad site id {site_id[:70]!r}: site ids are 1-63 characters of a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return site_id
