-- Did order X complete? The outcome recorded on each order's workflow-run span.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE WHEN attributes->>'$."temporal.outcome"' = 'completed' THEN 'completed' ELSE 'failed' END AS status
FROM spans
WHERE name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%' AND source = 'otlp'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY end_time DESC) = 1;
