-- Did order X complete, and with what final status? The synthesized root span's outcome and error: like spans, a
-- workflow that ends normally with a business status (canceled, expired) looks plainly completed.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE
           WHEN outcome = 'COMPLETED' THEN 'completed'
           WHEN status_message LIKE '%payment declined%' THEN 'payment_declined'
           WHEN status_message LIKE '%out of stock%' THEN 'out_of_stock'
           ELSE lower(outcome)
       END AS status
FROM spans
WHERE name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%' AND source = 'history'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY end_time DESC) = 1;
