-- Logs of every JobMaster process (shipped in batches by runtime/logship.py).
CREATE TABLE {p}log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    level smallint NOT NULL,
    logger text NOT NULL,
    message text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL
);

CREATE INDEX {p}log_at ON {p}log (at DESC, id DESC);
