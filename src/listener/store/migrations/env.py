"""Alembic environment: runs against the engine the caller passes in config.attributes.

On SQLite two things differ. The foreign keys are off while migrating: a batch migration rebuilds
a table by copying it and dropping the old one, and with the keys on that drop would cascade into
every child row. And the driver would run each CREATE and ALTER in a transaction of its own, so a
process killed mid-migration would leave half a schema that the next start trips over; instead the
whole upgrade runs in one explicit transaction, as on PostgreSQL.
"""

from alembic import context

from listener.store.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.driver_connection
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # A batch migration rebuilds a table and renames the copy back; the cascade triggers and
        # the analysts' views name that table, and must not be re-checked half way through.
        connection.exec_driver_sql("PRAGMA legacy_alter_table=ON")
        connection.commit()
        driver.isolation_level = None  # the driver leaves transactions to us: BEGIN below
    try:
        with connection.begin():
            if sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite)
            context.run_migrations()
    finally:
        if sqlite:
            driver.isolation_level = ""
            connection.exec_driver_sql("PRAGMA legacy_alter_table=OFF")
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
