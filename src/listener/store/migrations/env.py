"""Alembic environment: runs against the engine the caller passes in config.attributes.

On SQLite the foreign keys are off while migrating: a batch migration rebuilds a table by copying
it and dropping the old one, and with the keys on that drop would cascade into every child row.
"""

from alembic import context

from listener.store.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite)
            context.run_migrations()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
