-- Ground truth: only what the scenario driver itself decided or did, never values read back from a source.

-- One row per order the driver started.
CREATE TABLE IF NOT EXISTS ground_truth (
    order_id              VARCHAR PRIMARY KEY,
    workflow_id           VARCHAR NOT NULL,
    run_id                VARCHAR,
    scenario              VARCHAR NOT NULL,
    expected_status       VARCHAR NOT NULL,   -- the workflow's outcome: 'completed' or 'failed'
    expected_order_status VARCHAR NOT NULL,   -- the business outcome: completed, payment_declined, out_of_stock,
                                              -- canceled, expired
    expected_attempts     INTEGER NOT NULL,   -- attempts payment authorization takes (0: never runs)
    customer              VARCHAR NOT NULL,
    amount_cents          BIGINT NOT NULL,
    payment_method        VARCHAR NOT NULL,
    shipping_address      VARCHAR NOT NULL,   -- the final address (after any accepted update); a sentinel value
    card_number           VARCHAR NOT NULL,   -- a sentinel value
    compensations         VARCHAR NOT NULL,   -- comma-separated compensating steps, in the order they run
    crashed               BOOLEAN NOT NULL,   -- a worker was SIGKILLed during this order
    deleted               BOOLEAN NOT NULL,   -- the driver deleted the workflow after it closed (retention expiry)
    deletion              VARCHAR,            -- a deleted run as the server held it just before collection: 'gone',
                                              -- or 'pending' (deletion is asynchronous; the server still held the
                                              -- run, so the sources read it as present); NULL: not deleted
    codec                 BOOLEAN NOT NULL,   -- payloads were encrypted
    started_at            TIMESTAMPTZ NOT NULL,  -- just before the driver asked Temporal to start it
    finished_at           TIMESTAMPTZ            -- just after the driver saw its result
);

-- Every attempt of every step the order must run, with the injected error of failed attempts.
CREATE TABLE IF NOT EXISTS ground_truth_attempts (
    order_id   VARCHAR NOT NULL,
    step       VARCHAR NOT NULL,
    attempt    INTEGER NOT NULL,
    outcome    VARCHAR NOT NULL,            -- 'completed', 'failed', 'timed_out' or 'lost' (worker killed)
    error      VARCHAR,                     -- the injected error message of a failed attempt
    error_type VARCHAR,                     -- CardDeclined, PaymentGatewayTimeout, OutOfStock, StartToClose,
                                            -- Heartbeat, WorkerCrash
    work_ms    INTEGER NOT NULL,            -- how long a completed or failed attempt worked
    PRIMARY KEY (order_id, step, attempt)
);

-- Signals, updates and queries the driver sent to orders.
CREATE TABLE IF NOT EXISTS ground_truth_interactions (
    order_id VARCHAR NOT NULL,
    kind     VARCHAR NOT NULL,              -- 'signal', 'update' or 'query'
    name     VARCHAR NOT NULL,
    sent_at  TIMESTAMPTZ NOT NULL,
    accepted BOOLEAN NOT NULL,              -- false: an update the validator must reject
    argument VARCHAR,
    expected VARCHAR,                       -- a query's expected answer
    PRIMARY KEY (order_id, kind, name, sent_at)
);

-- Worker processes the driver killed, and when.
CREATE TABLE IF NOT EXISTS ground_truth_crashes (
    order_id     VARCHAR NOT NULL,
    service      VARCHAR NOT NULL,
    step         VARCHAR NOT NULL,
    killed_at    TIMESTAMPTZ NOT NULL,
    restarted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, killed_at)
);

-- Each customer's loyalty account: the points its completed orders must add up to.
CREATE TABLE IF NOT EXISTS ground_truth_loyalty (
    customer          VARCHAR PRIMARY KEY,
    workflow_id       VARCHAR NOT NULL,
    expected_points   BIGINT NOT NULL,
    expected_events   INTEGER NOT NULL,
    events_per_run    INTEGER NOT NULL      -- it continues as new after this many events
);

-- Each activity attempt's queue wait as the payments and shipping workers saw it (scheduled -> started, from
-- `activity.info()`), written by the workers into ledgers of their own before the attempt's work began.
CREATE TABLE IF NOT EXISTS ground_truth_queue_waits (
    service      VARCHAR NOT NULL,          -- the worker's task queue (each service polls a queue of its name)
    order_id     VARCHAR NOT NULL,
    workflow_id  VARCHAR NOT NULL,
    activity_id  VARCHAR NOT NULL,
    step         VARCHAR NOT NULL,
    attempt      INTEGER NOT NULL,
    scheduled_at TIMESTAMPTZ NOT NULL,      -- current_attempt_scheduled_time: after any retry backoff
    started_at   TIMESTAMPTZ NOT NULL,
    queue_ms     DOUBLE NOT NULL
);

-- Every activity attempt as the worker that ran it saw it (all three services): when it started and ended on the
-- worker's clock, and how the activity function ended. An attempt whose worker was killed has no end.
CREATE TABLE IF NOT EXISTS ground_truth_worker_attempts (
    service     VARCHAR NOT NULL,           -- the worker's task queue
    workflow_id VARCHAR NOT NULL,
    order_id    VARCHAR NOT NULL,           -- the workflow id after its first '-' (order-X, invoice-X)
    activity_id VARCHAR NOT NULL,
    step        VARCHAR,
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMPTZ,
    ended_at    TIMESTAMPTZ,                -- NULL: never ended (worker killed)
    outcome     VARCHAR,                    -- 'completed', 'failed', 'timed_out', 'canceled'; NULL: never ended
    error       VARCHAR,                    -- a failed attempt's error as raised
    status      VARCHAR,                    -- record_order_status: the order status the attempt recorded
    scheduled_at TIMESTAMPTZ                -- when the server offered this attempt to workers (after any backoff)
);
