-- How long did order X take end to end? The workflow-run span (its real duration).
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, sum(duration_ms) AS latency_ms
FROM spans
WHERE source <> 'history' AND name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
