-- Which signals and updates did order X receive, and was each accepted? Signaled and UpdateAccepted events: an
-- update the validator rejected is never written to history.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       CASE WHEN event_type = 'WorkflowExecutionSignaled' THEN 'signal' ELSE 'update' END AS kind,
       coalesce(signal_name, update_name, attributes->>'$.acceptedRequest.input.name') AS name,
       true AS accepted
FROM history_events
WHERE workflow_id LIKE 'order-%'
  AND event_type IN ('WorkflowExecutionSignaled', 'WorkflowExecutionUpdateAccepted');
