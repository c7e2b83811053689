-- Agent connections of the cluster, recorded by every process that declares them.
CREATE TABLE {p}agent (
    name text PRIMARY KEY,
    kind text NOT NULL,
    location text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now()
);
