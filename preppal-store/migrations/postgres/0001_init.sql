-- Preppal schema for PostgreSQL. Times are Unix milliseconds (BIGINT), ids are UUID v4 text.
-- Ids use the "C" collation so that history ordering by (created_at_ms, id) is byte order,
-- the same on every backend.

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE job_descriptions (
    id            TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX job_descriptions_by_user ON job_descriptions (user_id, created_at_ms DESC, id DESC);

CREATE TABLE resumes (
    id            TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX resumes_by_user ON resumes (user_id, created_at_ms DESC, id DESC);

-- job_description_id and resume_id name the library items the interview was made from;
-- they are not foreign keys: the snapshots are the record and outlive the library items.
CREATE TABLE interviews (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    user_id                  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key          TEXT NOT NULL,
    status                   TEXT NOT NULL
        CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR')),
    persona                  TEXT NOT NULL,
    duration_ms              BIGINT NOT NULL CHECK (duration_ms >= 0),
    job_description_id       TEXT,
    resume_id                TEXT,
    job_description_snapshot TEXT NOT NULL,
    resume_snapshot          TEXT NOT NULL,
    created_at_ms            BIGINT NOT NULL,
    started_at_ms            BIGINT,
    ended_at_ms              BIGINT,
    ended_reason             TEXT,
    error_message            TEXT,
    resumption_handle        TEXT
);
CREATE UNIQUE INDEX interviews_idempotency ON interviews (user_id, idempotency_key);
CREATE INDEX interviews_history ON interviews (user_id, created_at_ms DESC, id DESC);

CREATE TABLE transcript_entries (
    interview_id TEXT COLLATE "C" NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    sequence     BIGINT NOT NULL CHECK (sequence >= 0),
    speaker      TEXT NOT NULL CHECK (speaker IN ('AI', 'USER')),
    text         TEXT NOT NULL,
    start_ms     BIGINT NOT NULL,
    end_ms       BIGINT NOT NULL,
    PRIMARY KEY (interview_id, sequence)
);

-- One JSON document per interview (serde_json of preppal_core::Feedback), so it can grow.
CREATE TABLE feedback (
    interview_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    document      JSONB NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE leases (
    interview_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    worker_id     TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
