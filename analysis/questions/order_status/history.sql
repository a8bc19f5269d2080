-- Did order X complete, and with what final status? The close event of each order's last run: a failure's type,
-- or the status inside the workflow's result payload (readable only without an encrypting codec).
-- (arg_max_null: the latest row's value even where it is NULL, which arg_max would skip; a row without a time
-- counts as the oldest, as ordering by time put it last.)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       arg_max_null(status, coalesce(event_time, '-infinity')) AS status
-- the completions apart: only they need the result payload, and only their rows are read for it
FROM (SELECT workflow_id, event_time, attributes->>'$.result.payloads[0].data.status' AS status
      FROM history_events WHERE workflow_id LIKE 'order-%' AND event_type = 'WorkflowExecutionCompleted'
      UNION ALL
      SELECT workflow_id, event_time,
             CASE WHEN failure_type = 'PaymentDeclined' THEN 'payment_declined'
                  WHEN failure_type = 'OutOfStock' THEN 'out_of_stock'
                  ELSE lower(replace(event_type, 'WorkflowExecution', '')) END
      FROM history_events
      WHERE workflow_id LIKE 'order-%'
        AND event_type IN ('WorkflowExecutionFailed', 'WorkflowExecutionTimedOut', 'WorkflowExecutionCanceled',
                           'WorkflowExecutionTerminated'))
GROUP BY workflow_id;
