-- Agent connections of the cluster, recorded by every process that declares them.
CREATE TABLE {p}agent (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
