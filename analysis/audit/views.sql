-- The audit's normalized views over the collected tables, created per connection (TEMP) before any question runs.
-- Spans from our interceptors carry `temporal.*` keys; spans from temporalio.contrib.opentelemetry carry
-- temporalWorkflowID / temporalRunID / temporalActivityID and no attempt: both are read here, once, so every
-- question joins them the same way. Spans synthesized from history (source 'history') are history, not traces.

CREATE OR REPLACE TEMP VIEW audit_activities AS
-- One row per activity execution in history: its schedule, the start and close of its last attempt.
SELECT sc.namespace, sc.workflow_id, sc.run_id, w.workflow_type, w.status AS run_status, sc.activity_id,
       sc.activity_type, sc.task_queue, sc.event_time AS scheduled_time, st.event_time AS started_time,
       st.attempt, st.identity, st.failure_message AS previous_failure, st.failure_type AS previous_failure_type,
       cl.event_type AS close_type, cl.event_time AS close_time, cl.failure_message, cl.failure_type,
       sc.attributes AS scheduled_attributes
FROM history_events sc
LEFT JOIN history_events st ON st.namespace = sc.namespace AND st.workflow_id = sc.workflow_id
     AND st.run_id = sc.run_id AND st.scheduled_event_id = sc.event_id AND st.event_type = 'ActivityTaskStarted'
LEFT JOIN history_events cl ON cl.namespace = sc.namespace AND cl.workflow_id = sc.workflow_id
     AND cl.run_id = sc.run_id AND cl.scheduled_event_id = sc.event_id
     AND cl.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled')
LEFT JOIN workflows w ON w.namespace = sc.namespace AND w.workflow_id = sc.workflow_id AND w.run_id = sc.run_id
WHERE sc.event_type = 'ActivityTaskScheduled';

CREATE OR REPLACE TEMP VIEW audit_spans AS
WITH raw AS (
    SELECT s.*,
           coalesce(s.workflow_id, s.attributes->>'$.temporalWorkflowID') AS wid,
           coalesce(s.run_id, s.attributes->>'$.temporalRunID') AS rid,
           coalesce(s.activity_id, s.attributes->>'$.temporalActivityID') AS aid,
           CASE WHEN s.attributes->>'$."temporal.workflow_id"' IS NOT NULL
                  OR s.attributes->>'$."temporal.run_id"' IS NOT NULL THEN 'lens'
                WHEN s.attributes->>'$.temporalWorkflowID' IS NOT NULL
                  OR s.attributes->>'$.temporalActivityID' IS NOT NULL THEN 'contrib'
                ELSE 'other' END AS instrumentation
    FROM spans s
    WHERE s.source <> 'history'
)
SELECT r.trace_id, r.span_id, r.parent_span_id, r.name, r.service_name, r.start_time, r.end_time, r.duration_ms,
       r.status_code, r.status_message, r.wid AS workflow_id, r.rid AS run_id, r.aid AS activity_id,
       r.attempt, r.instrumentation, r.attributes, r.links,
       coalesce(r.attributes->>'$."temporal.workflow_type"', w.workflow_type) AS workflow_type,
       coalesce(r.attributes->>'$."temporal.activity_type"', r.attributes->>'$.temporalActivityType',
                nullif(regexp_extract(r.name, '^RunActivity:(.+)$', 1), '')) AS activity_type,
       r.attributes->>'$."temporal.task_queue"' AS task_queue,
       r.name LIKE 'RunActivity:%' AS is_attempt,
       -- the contrib's attempt spans carry no attempt number: the n-th span of an activity is its n-th attempt
       CASE WHEN r.name LIKE 'RunActivity:%' THEN coalesce(r.attempt, CAST(row_number() OVER (
            PARTITION BY r.rid, r.aid, r.name LIKE 'RunActivity:%' ORDER BY r.start_time) AS INTEGER)) END
           AS attempt_inferred,
       coalesce(r.attributes->>'$."temporal.outcome"',
                CASE WHEN r.status_code = 'ERROR' THEN 'failed' ELSE 'completed' END) AS outcome
FROM raw r
LEFT JOIN workflows w ON w.run_id = r.rid;

CREATE OR REPLACE TEMP VIEW audit_logs AS
SELECT l.*, coalesce(l.attributes->>'$."temporal.workflow_type"', w.workflow_type) AS workflow_type,
       l.attributes->>'$."temporal.activity_type"' AS activity_type
FROM logs l
LEFT JOIN workflows w ON w.run_id = l.run_id;
