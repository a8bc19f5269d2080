-- How long did order X take end to end? From the first run's WorkflowExecutionStarted to the last close event.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
-- (Only the start and close events are read: every exported run begins with its WorkflowExecutionStarted, so each
-- order is still grouped, and one not yet closed still gets its row, with no latency.)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       (epoch_us(max(event_time) FILTER (WHERE event_type <> 'WorkflowExecutionStarted'))
        - epoch_us(min(event_time) FILTER (WHERE event_type = 'WorkflowExecutionStarted'))) / 1000.0 AS latency_ms
FROM history_events
WHERE workflow_id LIKE 'order-%'
  AND event_type IN ('WorkflowExecutionStarted', 'WorkflowExecutionCompleted', 'WorkflowExecutionFailed',
                     'WorkflowExecutionTimedOut', 'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated')
GROUP BY workflow_id;
