-- How long did order X take end to end? The synthesized root span, started → close event.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id, sum(duration_ms) AS latency_ms
FROM spans
WHERE source = 'history' AND name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
