"""Moving a whole installation from one database to another (`whatmatters db copy`): table by
table in the order of `storage.tables.TABLES`, ids kept, every table's rows counted on both
sides. Only an empty target is written to."""

from __future__ import annotations

from storage.errors import StorageError
from storage.interfaces import Storage
from storage.tables import NOT_COPIED, TABLES


class CopyRefused(StorageError):
    """The copy was not started: nothing was written to the target."""


async def copy_installation(source: Storage, target: Storage) -> list[tuple[str, int]]:
    """Copy every row of `source` into the empty `target`, in one transaction on the target.

    Returns each table with the rows copied. CopyRefused if the target already holds data,
    the two schemas differ, or a table is one this version cannot copy; StorageError if the
    counts do not agree afterwards (a failure while loading leaves the target as it was).
    """
    versions = (await source.schema_version(), await target.schema_version())
    if versions[0] != versions[1]:
        raise CopyRefused(
            f"the source's schema is at migration {versions[0]} and the target's at"
            f" {versions[1]}; run `whatmatters db migrate` on the older one first"
        )
    known = {table.name for table in TABLES} | NOT_COPIED
    unknown = (await source.table_names() | await target.table_names()) - known
    if unknown:
        raise CopyRefused(f"tables this version cannot copy: {', '.join(sorted(unknown))}")
    held = [name for name, count in (await target.row_counts()).items() if count]
    if held:
        raise CopyRefused(
            f"the target already holds data (in {', '.join(held)}); copy only into an empty"
            " database"
        )
    expected = await source.row_counts()
    async with target.loading() as load:
        for table in TABLES:
            async for batch in source.rows(table):
                await load(table, batch)
    copied = await target.row_counts()
    wrong = [name for name in expected if copied.get(name) != expected[name]]
    if wrong:
        raise StorageError(
            "the counts differ after the copy in "
            + ", ".join(f"{name} ({expected[name]} → {copied.get(name)})" for name in wrong)
        )
    return [(table.name, copied[table.name]) for table in TABLES]
