-- Per activity type: p50/p95 execution (synthesized RunActivity spans that completed) and queue wait (QueueWait
-- spans: scheduled until the last attempt started).
SELECT activity_type AS step,
       quantile_cont(duration_ms, 0.5) FILTER (WHERE name LIKE 'RunActivity:%'
                                               AND outcome = 'COMPLETED') AS exec_p50_ms,
       quantile_cont(duration_ms, 0.95) FILTER (WHERE name LIKE 'RunActivity:%'
                                                AND outcome = 'COMPLETED') AS exec_p95_ms,
       quantile_cont(duration_ms, 0.5) FILTER (WHERE name LIKE 'QueueWait:%') AS queue_p50_ms,
       quantile_cont(duration_ms, 0.95) FILTER (WHERE name LIKE 'QueueWait:%') AS queue_p95_ms
FROM spans
WHERE source = 'history' AND (name LIKE 'RunActivity:%' OR name LIKE 'QueueWait:%')
  AND activity_type <> 'record_order_status'
  AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
GROUP BY 1;
