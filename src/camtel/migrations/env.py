"""Alembic environment: runs migrations synchronously against the configured URL."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from camtel.db.engine import sync_sqlite_pragmas
from camtel.db.partitions import include_name
from camtel.schema import metadata

config = context.config
#: The advisory lock key migrations hold on PostgreSQL (any number of camtel's own).
MIGRATION_LOCK = 0x63616D74656C  # 'camtel'


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None  # camtel.db.migrate sets it
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
            if connection.dialect.name == "postgresql":
                # Processes starting together on an old schema: one migrates, the others wait
                # and then find nothing left to do (released with the transaction).
                connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            context.run_migrations()
    engine.dispose()


run()
