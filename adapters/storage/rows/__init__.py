"""Row shapes and SQL shared by the SQLite and PostgreSQL rooms (one place per table's columns)."""
