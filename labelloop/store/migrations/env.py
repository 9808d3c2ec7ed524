"""Alembic environment: migrations run on the connection labelloop hands in."""

from alembic import context

from labelloop.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("labelloop migrations run through labelloop.store.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
