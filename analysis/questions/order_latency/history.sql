-- How long did order X take end to end? From the first run's WorkflowExecutionStarted to the last close event.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       (epoch_us(max(event_time) FILTER (WHERE event_type IN ('WorkflowExecutionCompleted', 'WorkflowExecutionFailed',
                     'WorkflowExecutionTimedOut', 'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated')))
        - epoch_us(min(event_time) FILTER (WHERE event_type = 'WorkflowExecutionStarted'))) / 1000.0 AS latency_ms
FROM history_events
WHERE workflow_id LIKE 'order-%'
GROUP BY workflow_id;
