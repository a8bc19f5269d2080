-- p50/p95/p99 activity duration and schedule-to-start per task queue (ms): completed attempt spans, and the
-- schedule-to-start our interceptor records on its attempt spans (first attempts, as history can tell them).
WITH measured AS (
    SELECT s.workflow_type, coalesce(s.task_queue, a.task_queue) AS task_queue, s.activity_type, s.duration_ms,
           CASE WHEN s.attempt_inferred = 1
                THEN TRY_CAST(s.attributes->>'$."temporal.schedule_to_start_ms"' AS DOUBLE) END AS queue_ms
    FROM audit_spans s
    LEFT JOIN audit_activities a ON a.run_id = s.run_id AND a.activity_id = s.activity_id
    WHERE s.is_attempt AND s.outcome = 'completed' AND s.run_id IS NOT NULL
), percentiles AS (
    SELECT workflow_type, task_queue, activity_type,
           quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS duration,
           quantile_cont(queue_ms, [0.5, 0.95, 0.99]) AS queue
    FROM measured GROUP BY ALL
)
SELECT workflow_type, '' AS run_id, task_queue || ' ' || activity_type || ' ' || metric AS subject,
       round(value, 1) AS value, task_queue AS detail
FROM percentiles,
     LATERAL (VALUES ('duration p50', duration[1]), ('duration p95', duration[2]), ('duration p99', duration[3]),
                     ('schedule_to_start p50', queue[1]), ('schedule_to_start p95', queue[2]),
                     ('schedule_to_start p99', queue[3])) AS m(metric, value)
WHERE value IS NOT NULL;
