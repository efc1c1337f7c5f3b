"""Why a media item was not stored, as typed errors that map onto an outcome status.

* ``UnsafeURL``: the URL (or a redirect hop) points somewhere the fetcher must never go.
  Outcome ``refused``; never retried.
* ``Skipped`` and its subclasses: a permanent fact about the target (signature expired, the
  body is not media, too large, gone). Outcome ``skipped``; never retried.
* ``FetchFailed``: a network fault, a timeout, a 5xx or a 429. Outcome ``failed``; retryable.
"""

from __future__ import annotations

from typing import ClassVar, Literal

OutcomeStatus = Literal[
    "uploaded", "deduplicated", "already_stored", "skipped", "refused", "failed"
]


class MediaError(Exception):
    """A media item that could not be stored; ``str(exc)`` is the reason."""

    status: ClassVar[OutcomeStatus] = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeURL(MediaError):
    """The URL or a redirect hop is not a public http(s) address (SSRF guard)."""

    status = "refused"


class Skipped(MediaError):
    """A permanent outcome: retrying cannot help."""

    status = "skipped"


class SignatureExpired(Skipped):
    """The CDN answered that the URL's signature (``oe=``) has expired."""


class NotMedia(Skipped):
    """The body is not an image or video (an HTML page served as .jpg, JSON, text...)."""


class TooLarge(Skipped):
    """The body is larger than the policy allows."""


class FetchFailed(MediaError):
    """A transient fault (connection, timeout, 5xx, 429): the caller may retry later."""

    status = "failed"
