-- Logs of every JobMaster process (shipped in batches by runtime/logship.py).
CREATE TABLE {p}log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL,
    message TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
CREATE INDEX {p}log_at ON {p}log (at, id);
