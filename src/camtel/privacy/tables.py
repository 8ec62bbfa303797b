"""The tables the privacy engine sweeps, exports and erases, looked up by the names the
registry gives them.

Every model registers its table in the one metadata of `camtel.db.base.Base`; the composition
roots (`camtel.app`, `camtel.cli`) and the tests import `camtel.schema`, which loads every
model, before the engine runs. The engine itself never imports the models of other packages
(they sit above it or beside it). A registered table that no loaded model defines is an
error here, never a silently skipped sweep, export or erasure.
"""

from __future__ import annotations

from sqlalchemy import Table

from camtel.db.base import Base


class ModelsNotLoaded(LookupError):
    """The privacy engine was asked for a table before `camtel.schema` loaded its model."""


def table(name: str) -> Table:
    """The registered table `name`, from the loaded models."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise ModelsNotLoaded(
            f"no loaded model defines the table {name!r}: import camtel.schema first"
        ) from None
