-- Which orders closed in the period? Workflow-run spans that ended in it.
SELECT DISTINCT regexp_replace(workflow_id, '^order-', '') AS order_id
FROM spans
WHERE source <> 'history' AND name = 'RunWorkflow:OrderWorkflow' AND end_time >= $since AND end_time < $until;
