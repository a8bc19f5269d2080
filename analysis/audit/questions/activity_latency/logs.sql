-- p50/p95/p99 activity duration and schedule-to-start per task queue (ms): the 'activity completed' record's
-- duration and the 'activity started' record's schedule-to-start (first attempts).
WITH records AS (
    SELECT l.workflow_type, coalesce(l.attributes->>'$."temporal.task_queue"', a.task_queue) AS task_queue,
           l.activity_type, l.event, l.attempt,
           TRY_CAST(l.attributes->>'$.duration_ms' AS DOUBLE) AS duration_ms,
           TRY_CAST(l.attributes->>'$.schedule_to_start_ms' AS DOUBLE) AS queue_ms
    FROM audit_logs l
    LEFT JOIN audit_activities a ON a.run_id = l.run_id AND a.activity_id = l.activity_id
    WHERE l.event IN ('activity completed', 'activity started') AND l.run_id IS NOT NULL
), percentiles AS (
    SELECT workflow_type, task_queue, activity_type,
           quantile_cont(duration_ms, [0.5, 0.95, 0.99]) FILTER (WHERE event = 'activity completed') AS duration,
           quantile_cont(queue_ms, [0.5, 0.95, 0.99]) FILTER (WHERE event = 'activity started' AND attempt = 1) AS queue
    FROM records GROUP BY ALL
)
SELECT workflow_type, '' AS run_id, task_queue || ' ' || activity_type || ' ' || metric AS subject,
       round(value, 1) AS value, task_queue AS detail
FROM percentiles,
     LATERAL (VALUES ('duration p50', duration[1]), ('duration p95', duration[2]), ('duration p99', duration[3]),
                     ('schedule_to_start p50', queue[1]), ('schedule_to_start p95', queue[2]),
                     ('schedule_to_start p99', queue[3])) AS m(metric, value)
WHERE value IS NOT NULL;
