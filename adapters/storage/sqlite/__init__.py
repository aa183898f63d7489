"""SQLite storage (sqlite-utils, WAL): the embedded default, shareable by processes on one host."""
