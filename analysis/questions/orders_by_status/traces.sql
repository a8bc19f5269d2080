-- How many orders ended in each status? Each order's workflow-run span (see order_status), counted.
WITH per_order AS (
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE
           WHEN attributes->>'$."temporal.outcome"' = 'completed' THEN 'completed'
           WHEN status_message LIKE '%payment declined%' THEN 'payment_declined'
           WHEN status_message LIKE '%out of stock%' THEN 'out_of_stock'
           ELSE attributes->>'$."temporal.outcome"'
       END AS status
FROM spans
WHERE name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%' AND source = 'otlp'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY end_time DESC) = 1
)
SELECT status, count(*) AS orders FROM per_order GROUP BY 1;
