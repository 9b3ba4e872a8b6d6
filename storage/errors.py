"""The storage package's own errors: backends translate their drivers' errors into these, so no
code outside `storage/` needs to know which database is behind it."""

from __future__ import annotations


class StorageError(Exception):
    """A read or write the database refused; the unit of work it belonged to changed nothing."""


class StorageUnavailable(StorageError):
    """The database could not be opened or reached (a wrong path, a full disk, a server down)."""


class AlreadyHandled(StorageError):
    """A turn for an update that is processed already (by another worker whose claim on the
    resident had lapsed, say): nothing of it was kept, and nothing is to be answered."""
