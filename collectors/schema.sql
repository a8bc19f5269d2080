-- Tables the collectors write: one family per source. Stable names and columns; more may be added. Their Arrow
-- shapes are in tables.py (a test checks both agree); a column added later is also in tables.ADDED_COLUMNS, so
-- open_database adds it to databases created before it.

-- One row per history event, flattened from Temporal's event history. Unique per (namespace, workflow_id, run_id,
-- event_id) by how it is written, not by an index: a run's events are replaced whole (delete, then insert, in one
-- transaction) and a batch holds each run once; an index on four columns would double the cost of every load.
CREATE TABLE IF NOT EXISTS history_events (
    namespace          VARCHAR NOT NULL,
    workflow_id        VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    event_id           BIGINT NOT NULL,
    event_time         TIMESTAMPTZ,
    event_type         VARCHAR NOT NULL,
    task_queue         VARCHAR,
    activity_id        VARCHAR,
    activity_type      VARCHAR,
    attempt            INTEGER,
    scheduled_event_id BIGINT,
    started_event_id   BIGINT,
    failure_message    VARCHAR,
    failure_type       VARCHAR,
    retry_state        VARCHAR,
    timer_id           VARCHAR,
    signal_name        VARCHAR,
    update_name        VARCHAR,
    identity           VARCHAR,
    attributes         JSON
);

-- One row per workflow execution (run), from visibility plus the collected history. It is also the incremental
-- collector's state: a run stored with a closed status is not fetched again (its history cannot change); this row
-- is written after the run's history_events, so a run interrupted half-written is fetched again.
CREATE TABLE IF NOT EXISTS workflows (
    namespace          VARCHAR NOT NULL,
    workflow_id        VARCHAR NOT NULL,
    run_id             VARCHAR NOT NULL,
    workflow_type      VARCHAR,
    status             VARCHAR,
    start_time         TIMESTAMPTZ,
    close_time         TIMESTAMPTZ,
    task_queue         VARCHAR,
    parent_workflow_id VARCHAR,
    parent_run_id      VARCHAR,
    history_length     BIGINT,
    search_attributes  JSON,
    PRIMARY KEY (namespace, workflow_id, run_id)
);

-- One row per span, from OTLP, Jaeger JSON, the legacy Jaeger agent, or synthesized from history (see `source`).
-- `links`: a JSON list of {"trace_id", "span_id", "attributes"}, the spans this one links to ([] when none).
-- `activity_type` and `outcome` copy the `temporal.activity_type` (else the activity named by a `RunActivity:` or
-- `StartActivity:` span name) and `temporal.outcome` attributes, which stay in `attributes` too: most questions
-- filter or group on them, and a column is read without parsing every row's JSON (measured: bench/analysis.py).
CREATE TABLE IF NOT EXISTS spans (
    trace_id       VARCHAR NOT NULL,
    span_id        VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name           VARCHAR NOT NULL,
    kind           VARCHAR,
    service_name   VARCHAR,
    start_time     TIMESTAMPTZ,
    end_time       TIMESTAMPTZ,
    duration_ms    DOUBLE,
    status_code    VARCHAR,
    status_message VARCHAR,
    workflow_id    VARCHAR,
    run_id         VARCHAR,
    activity_id    VARCHAR,
    attempt        INTEGER,
    attributes     JSON,
    events         JSON,
    resource       JSON,
    source         VARCHAR NOT NULL,
    links          JSON DEFAULT '[]',
    activity_type  VARCHAR,
    outcome        VARCHAR,
    PRIMARY KEY (trace_id, span_id)
);

-- One row per log record, from JSON-lines files (structlog or logging JSON) or received over OTLP.
-- Key (source_file, line_no): for a file, its absolute path and the 1-based line number, so reloading a file stores
-- only lines not stored before. For OTLP records, source_file = 'otlp' and line_no is a deterministic 63-bit key:
-- the first 8 bytes of BLAKE2b over the record's time (else observed time), trace id, span id, severity, body,
-- attributes and service.name, masked to 63 bits (otlp_convert.otlp_log_key). A re-sent batch is therefore not
-- stored twice, and identical records in one batch are stored once. observed_time is left out on purpose: a
-- pipeline re-sending a record may stamp it anew.
CREATE TABLE IF NOT EXISTS logs (
    time         TIMESTAMPTZ,
    level        VARCHAR,
    event        VARCHAR,
    service_name VARCHAR,
    trace_id     VARCHAR,
    span_id      VARCHAR,
    workflow_id  VARCHAR,
    run_id       VARCHAR,
    activity_id  VARCHAR,
    attempt      INTEGER,
    event_id     BIGINT,
    attributes   JSON,
    source_file  VARCHAR NOT NULL,
    line_no      BIGINT NOT NULL,
    activity_type VARCHAR,             -- a copy of the `temporal.activity_type` attribute (kept there too)
    PRIMARY KEY (source_file, line_no)
);
