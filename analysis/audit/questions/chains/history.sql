-- Which runs started children and which continued as new? StartChildWorkflowExecutionInitiated (the child's
-- workflow id and type) and WorkflowExecutionContinuedAsNew (the new run).
SELECT w.workflow_type, h.run_id,
       CASE WHEN h.event_type = 'WorkflowExecutionContinuedAsNew' THEN 'continued as new'
            ELSE 'child ' || (h.attributes->>'$.workflowId') END AS subject,
       CASE WHEN h.event_type = 'WorkflowExecutionContinuedAsNew' THEN h.attributes->>'$.newExecutionRunId'
            ELSE h.attributes->>'$.workflowType.name' END AS value,
       NULL AS detail
FROM history_events h
LEFT JOIN workflows w ON w.namespace = h.namespace AND w.workflow_id = h.workflow_id AND w.run_id = h.run_id
WHERE h.event_type IN ('StartChildWorkflowExecutionInitiated', 'WorkflowExecutionContinuedAsNew');
