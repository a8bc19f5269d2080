-- Which orders closed in the period? 'workflow completed' / 'workflow failed' records written in it.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id
FROM logs
WHERE event IN ('workflow completed', 'workflow failed') AND workflow_id LIKE 'order-%'
  AND time >= $since AND time < $until;
