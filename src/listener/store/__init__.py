"""The SQL store: tables, engine and migrations, and the queries the rest of the program asks."""
