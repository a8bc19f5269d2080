-- Per activity type: p50/p95 execution (last attempt's started → completed) and queue wait (scheduled → started;
-- for a retried step it includes the retry backoff, since history keeps no earlier attempt's start).
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
WITH activity AS (
    -- one pass over the three events of each activity, grouped by the scheduled event they belong to (a run holds
    -- at most one started and one completion per scheduled event, so this is the join of the three, read once;
    -- the export fills a started or completed event's activity_type from its scheduled event)
    SELECT any_value(activity_type) FILTER (WHERE event_type = 'ActivityTaskScheduled') AS step,
           (epoch_us(any_value(event_time) FILTER (WHERE event_type = 'ActivityTaskCompleted'))
            - epoch_us(any_value(event_time) FILTER (WHERE event_type = 'ActivityTaskStarted'))) / 1000.0 AS exec_ms,
           (epoch_us(any_value(event_time) FILTER (WHERE event_type = 'ActivityTaskStarted'))
            - epoch_us(any_value(event_time) FILTER (WHERE event_type = 'ActivityTaskScheduled'))) / 1000.0 AS queue_ms
    FROM history_events
    WHERE event_type IN ('ActivityTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted')
      AND activity_type <> 'record_order_status' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
    GROUP BY workflow_id, run_id, coalesce(scheduled_event_id, event_id)
    HAVING count(*) FILTER (WHERE event_type = 'ActivityTaskScheduled') > 0
       AND count(*) FILTER (WHERE event_type = 'ActivityTaskStarted') > 0
       AND count(*) FILTER (WHERE event_type = 'ActivityTaskCompleted') > 0
)
SELECT step,
       quantile_cont(exec_ms, 0.5) AS exec_p50_ms, quantile_cont(exec_ms, 0.95) AS exec_p95_ms,
       quantile_cont(queue_ms, 0.5) AS queue_p50_ms, quantile_cont(queue_ms, 0.95) AS queue_p95_ms
FROM activity GROUP BY step;
