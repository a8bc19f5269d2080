-- Did order X complete? The close event of each order workflow's latest run.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE event_type WHEN 'WorkflowExecutionCompleted' THEN 'completed' ELSE 'failed' END AS status
FROM history_events
WHERE workflow_id LIKE 'order-%'
  AND event_type IN ('WorkflowExecutionCompleted', 'WorkflowExecutionFailed', 'WorkflowExecutionTimedOut',
                     'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated')
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time DESC) = 1;
