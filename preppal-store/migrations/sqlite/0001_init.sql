-- Preppal schema for SQLite. Times are Unix milliseconds (INTEGER), ids are UUID v4 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE job_descriptions (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX job_descriptions_by_user ON job_descriptions (user_id, created_at_ms DESC, id DESC);

CREATE TABLE resumes (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX resumes_by_user ON resumes (user_id, created_at_ms DESC, id DESC);

-- job_description_id and resume_id name the library items the interview was made from;
-- they are not foreign keys: the snapshots are the record and outlive the library items.
CREATE TABLE interviews (
    id                       TEXT PRIMARY KEY NOT NULL,
    user_id                  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key          TEXT NOT NULL,
    status                   TEXT NOT NULL
        CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR')),
    persona                  TEXT NOT NULL,
    duration_ms              INTEGER NOT NULL CHECK (duration_ms >= 0),
    job_description_id       TEXT,
    resume_id                TEXT,
    job_description_snapshot TEXT NOT NULL,
    resume_snapshot          TEXT NOT NULL,
    created_at_ms            INTEGER NOT NULL,
    started_at_ms            INTEGER,
    ended_at_ms              INTEGER,
    ended_reason             TEXT,
    error_message            TEXT,
    resumption_handle        TEXT
);
CREATE UNIQUE INDEX interviews_idempotency ON interviews (user_id, idempotency_key);
CREATE INDEX interviews_history ON interviews (user_id, created_at_ms DESC, id DESC);

CREATE TABLE transcript_entries (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    sequence     INTEGER NOT NULL CHECK (sequence >= 0),
    speaker      TEXT NOT NULL CHECK (speaker IN ('AI', 'USER')),
    text         TEXT NOT NULL,
    start_ms     INTEGER NOT NULL,
    end_ms       INTEGER NOT NULL,
    PRIMARY KEY (interview_id, sequence)
) WITHOUT ROWID;

-- One JSON document per interview (serde_json of preppal_core::Feedback), so it can grow.
CREATE TABLE feedback (
    interview_id  TEXT PRIMARY KEY NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    document      TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE leases (
    interview_id  TEXT PRIMARY KEY NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    worker_id     TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
