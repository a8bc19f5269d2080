-- Did order X complete, and with what final status? The close event of each order's last run: a failure's type,
-- or the status inside the workflow's result payload (readable only without an encrypting codec).
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE
           WHEN event_type = 'WorkflowExecutionCompleted'
               THEN attributes->>'$.result.payloads[0].data.status'
           WHEN failure_type = 'PaymentDeclined' THEN 'payment_declined'
           WHEN failure_type = 'OutOfStock' THEN 'out_of_stock'
           ELSE lower(replace(event_type, 'WorkflowExecution', ''))
       END AS status
FROM history_events
WHERE workflow_id LIKE 'order-%'
  AND event_type IN ('WorkflowExecutionCompleted', 'WorkflowExecutionFailed', 'WorkflowExecutionTimedOut',
                     'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated')
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time DESC) = 1;
