-- Ground truth: only what the scenario driver itself decided or did, never values read back from a source.

-- One row per order the driver started.
CREATE TABLE IF NOT EXISTS ground_truth (
    order_id          VARCHAR PRIMARY KEY,
    workflow_id       VARCHAR NOT NULL,
    run_id            VARCHAR,
    scenario          VARCHAR NOT NULL,
    expected_status   VARCHAR NOT NULL,   -- 'completed' or 'failed'
    expected_attempts INTEGER NOT NULL,   -- attempts payment authorization takes
    customer          VARCHAR NOT NULL,
    amount_cents      BIGINT NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL
);

-- Every attempt of every step the order must run, with the injected error of failed attempts.
CREATE TABLE IF NOT EXISTS ground_truth_attempts (
    order_id VARCHAR NOT NULL,
    step     VARCHAR NOT NULL,
    attempt  INTEGER NOT NULL,
    outcome  VARCHAR NOT NULL,            -- 'completed' or 'failed'
    error    VARCHAR,
    work_ms  INTEGER NOT NULL,            -- how long the attempt was made to work before its outcome
    PRIMARY KEY (order_id, step, attempt)
);
