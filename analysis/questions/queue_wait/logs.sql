-- Per activity type: p50/p95 execution ('activity completed' duration_ms) and queue wait ('activity started'
-- schedule_to_start_ms).
SELECT step,
       quantile_cont(exec_ms, 0.5) FILTER (WHERE event = 'activity completed') AS exec_p50_ms,
       quantile_cont(exec_ms, 0.95) FILTER (WHERE event = 'activity completed') AS exec_p95_ms,
       quantile_cont(queue_ms, 0.5) FILTER (WHERE event = 'activity started') AS queue_p50_ms,
       quantile_cont(queue_ms, 0.95) FILTER (WHERE event = 'activity started') AS queue_p95_ms
-- each record's JSON read for the one field its kind carries
FROM (SELECT activity_type AS step, event,
             CASE WHEN event = 'activity completed' THEN CAST(attributes->>'duration_ms' AS DOUBLE) END AS exec_ms,
             CASE WHEN event = 'activity started' THEN CAST(attributes->>'schedule_to_start_ms' AS DOUBLE) END
                 AS queue_ms
      FROM logs
      WHERE event IN ('activity started', 'activity completed')
        AND activity_type <> 'record_order_status'
        AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%'))
GROUP BY 1;
