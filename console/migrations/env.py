"""Alembic environment. callconsole runs migrations in-process (console.schema) and hands us a
connection; `alembic` on the command line (developers: autogenerate) builds one from settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from console.models import Base
from console.models.base import compare_column_type

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=compare_column_type,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from console.config import load_settings
    from console.db import normalise_url

    raw = config.get_main_option("sqlalchemy.url")
    url = normalise_url(raw or load_settings().database.url.get_secret_value())
    sync_driver = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
    engine = create_engine(url.set(drivername=sync_driver[url.get_backend_name()]))
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
run_migrations_online()
