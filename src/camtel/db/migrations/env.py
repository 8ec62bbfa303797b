"""Alembic environment: runs migrations synchronously against the configured URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from camtel.db.engine import sync_sqlite_pragmas
from camtel.db.models import metadata
from camtel.db.partitions import include_name

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    sync_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,  # the months of a partitioned table are not models
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
