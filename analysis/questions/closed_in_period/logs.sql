-- Which orders closed in the period? 'workflow completed' / 'workflow failed' records written in it.
SELECT DISTINCT regexp_replace(workflow_id, '^order-', '') AS order_id
FROM logs
WHERE event IN ('workflow completed', 'workflow failed') AND workflow_id LIKE 'order-%'
  AND time >= $since AND time < $until;
