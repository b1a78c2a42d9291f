"""service/errors.py: the one table from exception types to HTTP statuses."""

from __future__ import annotations

import pytest

from runtime.site_ids import BadSiteId
from service.errors import STATUS, BadRequest, Conflict, NotFound, TooLarge, Unavailable, status_of
from service.imaging import BadImage, UnsupportedContentType


@pytest.mark.parametrize(
    "exc,status",
    [
        (UnsupportedContentType("text/plain"), 415),
        (BadImage("not a JPEG or PNG image"), 400),
        (BadRequest("two frames where one goes"), 400),
        (BadSiteId("bad site id"), 422),
        (TooLarge("body over the limit"), 413),
        (NotFound("no job"), 404),
        (Conflict("too few crops"), 409),
        (Unavailable("redis away"), 503),
    ],
)
def test_each_mapped_type_has_its_status(exc, status):
    assert status_of(exc) == status


def test_unsupported_content_type_is_415_although_it_is_a_bad_image():
    exc = UnsupportedContentType("content type 'text/plain' is not image/jpeg or image/png")
    assert isinstance(exc, BadImage)
    assert status_of(exc) == 415


def test_subclasses_of_mapped_types_take_their_parents_status():
    class JobGone(NotFound):
        pass

    class BrokerAway(Unavailable):
        pass

    assert status_of(JobGone("x")) == 404
    assert status_of(BrokerAway("x")) == 503


def test_no_entry_is_shadowed_by_an_earlier_more_general_one():
    kinds = [kind for kind, _ in STATUS]
    for i, later in enumerate(kinds):
        for earlier in kinds[:i]:
            assert not issubclass(later, earlier), f"{later.__name__} is unreachable after {earlier.__name__}"


@pytest.mark.parametrize("exc", [ValueError("plain"), KeyError("k"), LookupError("l"), RuntimeError("r")])
def test_unmapped_types_are_refused_by_name_even_when_a_mapped_type_shares_their_base(exc):
    with pytest.raises(ValueError, match=type(exc).__name__):
        status_of(exc)
