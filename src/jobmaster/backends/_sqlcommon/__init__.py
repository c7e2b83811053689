"""Python logic shared by the MySQL/MariaDB and SQL Server backends.

Both dialects keep naive UTC times, read JSON documents in set-based statements (``JSON_TABLE``,
``OPENJSON``) and poll instead of listening, so the conversions between rows and model types,
the read-only views of the agent and master, the store skeleton and the DSN helpers are written
once here. Dialect-specific SQL and driver calls stay in each backend's package.
"""
