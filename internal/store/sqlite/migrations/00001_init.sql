-- Sluice schema, SQLite dialect. The PostgreSQL migrations use the same
-- numbers, tables, columns and indexes; differences are noted inline.
-- Timestamps are BIGINT unix microseconds (UTC); JSON documents are TEXT.

-- +goose Up

CREATE TABLE workflows (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL DEFAULT '',
    latest_version INTEGER NOT NULL,
    trigger_type   TEXT    NOT NULL DEFAULT '',
    trigger_key    TEXT    NOT NULL DEFAULT '',
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- A webhook key belongs to at most one enabled workflow.
CREATE UNIQUE INDEX workflows_trigger_key ON workflows (trigger_key)
    WHERE enabled AND trigger_key <> '';

CREATE TABLE workflow_versions (
    workflow_id  TEXT    NOT NULL REFERENCES workflows (id),
    version      INTEGER NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    trigger_type TEXT    NOT NULL DEFAULT '',
    trigger_key  TEXT    NOT NULL DEFAULT '',
    definition   TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

-- The run table is also the queue: a run is due when due_at <= now. due_at is
-- NULL for terminal runs, so the partial index holds only live runs.
CREATE TABLE runs (
    id               TEXT    NOT NULL PRIMARY KEY,
    workflow_id      TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    current_step_id  TEXT    NOT NULL DEFAULT '',
    attempt          INTEGER NOT NULL DEFAULT 1,
    generation       INTEGER NOT NULL DEFAULT 0,
    input            TEXT,
    steps            TEXT,
    output           TEXT,
    error            TEXT    NOT NULL DEFAULT '',
    trigger_key      TEXT    NOT NULL DEFAULT '',
    idempotency_key  TEXT    NOT NULL DEFAULT '',
    request_hash     TEXT    NOT NULL DEFAULT '',
    due_at           BIGINT,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_token      BIGINT  NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    FOREIGN KEY (workflow_id, workflow_version) REFERENCES workflow_versions (workflow_id, version)
);

-- The idempotency record of a start request. Runs started without a key
-- (idempotency_key '') are not deduplicated.
CREATE UNIQUE INDEX runs_idempotency ON runs (trigger_key, idempotency_key)
    WHERE idempotency_key <> '';
CREATE INDEX runs_due_at ON runs (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX runs_workflow_id ON runs (workflow_id, id);
CREATE INDEX runs_status ON runs (status, id);

-- seq orders rows as they were recorded (PostgreSQL: bigint generated always
-- as identity primary key).
CREATE TABLE step_executions (
    seq             INTEGER NOT NULL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    run_id          TEXT    NOT NULL REFERENCES runs (id),
    generation      INTEGER NOT NULL,
    step_id         TEXT    NOT NULL,
    step_type       TEXT    NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    input           TEXT,
    output          TEXT,
    error           TEXT    NOT NULL DEFAULT '',
    idempotency_key TEXT    NOT NULL DEFAULT '',
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT  NOT NULL
);

CREATE INDEX step_executions_run_id ON step_executions (run_id, seq);

CREATE TABLE dead_letters (
    id               TEXT    NOT NULL PRIMARY KEY,
    run_id           TEXT    NOT NULL REFERENCES runs (id),
    generation       INTEGER NOT NULL,
    workflow_id      TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    step_id          TEXT    NOT NULL DEFAULT '',
    step_type        TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    input            TEXT,
    created_at       BIGINT  NOT NULL,
    replayed_at      BIGINT
);

CREATE INDEX dead_letters_run_id ON dead_letters (run_id);
CREATE INDEX dead_letters_created_at ON dead_letters (created_at, id);
CREATE INDEX dead_letters_workflow_id ON dead_letters (workflow_id, created_at, id);

CREATE TABLE replays (
    id              TEXT    NOT NULL PRIMARY KEY,
    run_id          TEXT    NOT NULL REFERENCES runs (id),
    generation      INTEGER NOT NULL,
    replay_from     TEXT    NOT NULL,
    step_id         TEXT    NOT NULL DEFAULT '',
    previous_status TEXT    NOT NULL,
    input_replaced  BOOLEAN NOT NULL DEFAULT FALSE,
    requested_by    TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL
);

CREATE INDEX replays_run_id ON replays (run_id, generation);

-- seq orders rows as they were recorded (PostgreSQL: bigint generated always
-- as identity primary key).
CREATE TABLE outbox (
    seq             INTEGER NOT NULL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    run_id          TEXT    NOT NULL REFERENCES runs (id),
    step_id         TEXT    NOT NULL DEFAULT '',
    exchange        TEXT    NOT NULL DEFAULT '',
    routing_key     TEXT    NOT NULL DEFAULT '',
    message         TEXT,
    headers         TEXT,
    message_id      TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at BIGINT,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);

CREATE INDEX outbox_status_created_at ON outbox (status, created_at);

-- +goose Down

DROP TABLE outbox;
DROP TABLE replays;
DROP TABLE dead_letters;
DROP TABLE step_executions;
DROP TABLE runs;
DROP TABLE workflow_versions;
DROP TABLE workflows;
