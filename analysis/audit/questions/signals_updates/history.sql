-- Which signals and updates did each run receive, and which were rejected? Signaled and UpdateAccepted events,
-- counted; an update its validator rejected is never written to history.
SELECT w.workflow_type, h.run_id,
       CASE WHEN h.event_type = 'WorkflowExecutionSignaled' THEN 'signal ' ELSE 'update ' END
           || coalesce(h.signal_name, h.update_name, h.attributes->>'$.acceptedRequest.input.name') || ' accepted'
           AS subject,
       count(*) AS value, NULL AS detail
FROM history_events h
LEFT JOIN workflows w ON w.namespace = h.namespace AND w.workflow_id = h.workflow_id AND w.run_id = h.run_id
WHERE h.event_type IN ('WorkflowExecutionSignaled', 'WorkflowExecutionUpdateAccepted')
GROUP BY ALL;
