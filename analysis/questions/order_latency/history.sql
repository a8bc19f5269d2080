-- How long did order X take end to end? From the first run's WorkflowExecutionStarted to the last close event.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       date_diff('microsecond', min(event_time) FILTER (WHERE event_type = 'WorkflowExecutionStarted'),
                 max(event_time) FILTER (WHERE event_type IN ('WorkflowExecutionCompleted', 'WorkflowExecutionFailed',
                     'WorkflowExecutionTimedOut', 'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated'))
       ) / 1000.0 AS latency_ms
FROM history_events
WHERE workflow_id LIKE 'order-%'
GROUP BY workflow_id;
