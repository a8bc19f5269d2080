-- Per activity type: p50/p95 execution (completed attempt spans) and queue wait (the schedule-to-start wait the
-- interceptor puts on every attempt span).
SELECT activity_type AS step,
       quantile_cont(duration_ms, 0.5) FILTER (WHERE outcome = 'completed')
           AS exec_p50_ms,
       quantile_cont(duration_ms, 0.95) FILTER (WHERE outcome = 'completed')
           AS exec_p95_ms,
       quantile_cont(CAST(attributes->>'$."temporal.schedule_to_start_ms"' AS DOUBLE), 0.5) AS queue_p50_ms,
       quantile_cont(CAST(attributes->>'$."temporal.schedule_to_start_ms"' AS DOUBLE), 0.95) AS queue_p95_ms
FROM spans
WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
GROUP BY 1;
