"""arbridge's SQLite database backend: Django's, with a quicker queue for the write lock."""
