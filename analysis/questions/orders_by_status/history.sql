-- How many orders ended in each status? Each retained order's close event (see order_status), counted: Temporal's
-- own count can group only by ExecutionStatus, which knows 'completed', not the business status.
WITH per_order AS (
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
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time DESC) = 1
)
SELECT status, count(*) AS orders FROM per_order GROUP BY 1;
