"""The SQLite file: schema, the single writer process, the lock file."""
