-- Did order X complete, and with what final status? The workflow-run span's outcome and error: spans know whether
-- the workflow failed and why, but a workflow that ends normally with a business status looks plainly completed.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE
           WHEN outcome = 'completed' THEN 'completed'
           WHEN status_message LIKE '%payment declined%' THEN 'payment_declined'
           WHEN status_message LIKE '%out of stock%' THEN 'out_of_stock'
           ELSE outcome
       END AS status
FROM spans
WHERE name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%' AND source = 'otlp'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY end_time DESC) = 1;
