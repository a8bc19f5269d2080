-- Which orders closed in the period? The visibility records (CloseTime BETWEEN ... is a list filter Temporal has):
-- only runs still retained are listed.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id
FROM workflows
WHERE workflow_type = 'OrderWorkflow' AND close_time >= $since AND close_time < $until
  AND status NOT IN ('RUNNING', 'CONTINUED_AS_NEW');
