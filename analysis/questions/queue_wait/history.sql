-- Per activity type: p50/p95 execution (last attempt's started → completed) and queue wait (scheduled → started;
-- for a retried step it includes the retry backoff, since history keeps no earlier attempt's start).
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
WITH activity AS (
    SELECT sc.activity_type AS step,
           (epoch_us(co.event_time) - epoch_us(st.event_time)) / 1000.0 AS exec_ms,
           (epoch_us(st.event_time) - epoch_us(sc.event_time)) / 1000.0 AS queue_ms
    FROM history_events sc
    JOIN history_events st ON st.workflow_id = sc.workflow_id AND st.run_id = sc.run_id
     AND st.scheduled_event_id = sc.event_id AND st.event_type = 'ActivityTaskStarted'
    JOIN history_events co ON co.workflow_id = sc.workflow_id AND co.run_id = sc.run_id
     AND co.scheduled_event_id = sc.event_id AND co.event_type = 'ActivityTaskCompleted'
    WHERE sc.event_type = 'ActivityTaskScheduled' AND sc.activity_type <> 'record_order_status'
      AND (sc.workflow_id LIKE 'order-%' OR sc.workflow_id LIKE 'invoice-%')
)
SELECT step,
       quantile_cont(exec_ms, 0.5) AS exec_p50_ms, quantile_cont(exec_ms, 0.95) AS exec_p95_ms,
       quantile_cont(queue_ms, 0.5) AS queue_p50_ms, quantile_cont(queue_ms, 0.95) AS queue_p95_ms
FROM activity GROUP BY step;
