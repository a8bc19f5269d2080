-- How many loyalty points does customer C hold? The state the last run of the loyalty workflow closed with (each
-- continue-as-new run carries the balance on in its input).
SELECT CASE WHEN workflow_id LIKE 'loyalty-%' THEN substr(workflow_id, 9) ELSE workflow_id END AS customer,
       CAST(attributes->>'$.result.payloads[0].data.points' AS BIGINT) AS points
FROM history_events
WHERE workflow_id LIKE 'loyalty-%' AND event_type = 'WorkflowExecutionCompleted'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time DESC) = 1;
