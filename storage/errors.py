"""The storage package's own errors: backends translate their drivers' errors into these, so no
code outside `storage/` needs to know which database is behind it."""

from __future__ import annotations


class StorageError(Exception):
    """A read or write the database refused; the unit of work it belonged to changed nothing."""


class StorageUnavailable(StorageError):
    """The database could not be opened or reached (a wrong path, a full disk, a server down)."""
