-- Which orders closed in the period? Workflow-run spans that ended in it.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id
FROM spans
WHERE source <> 'history' AND name = 'RunWorkflow:OrderWorkflow' AND end_time >= $since AND end_time < $until;
