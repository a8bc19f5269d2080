-- p50/p95/p99 activity duration and schedule-to-start per task queue (ms). Duration: the completed attempt's
-- start to close; schedule-to-start: the schedule to the last attempt's start (retries' backoff included).
WITH measured AS (
    SELECT workflow_type, task_queue, activity_type,
           epoch_ms(close_time) - epoch_ms(started_time) AS duration_ms,
           CASE WHEN attempt = 1 THEN epoch_ms(started_time) - epoch_ms(scheduled_time) END AS queue_ms
    FROM audit_activities
    WHERE close_type = 'ActivityTaskCompleted'
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
