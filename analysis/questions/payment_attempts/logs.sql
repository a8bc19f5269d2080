-- How many attempts did payment authorization take for order X, and what failed on each? One record per attempt end.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       attempt,
       CASE WHEN event = 'activity failed' THEN attributes->>'error' END AS error
FROM logs
WHERE activity_type = 'authorize_payment'
  AND event IN ('activity completed', 'activity failed') AND workflow_id LIKE 'order-%';
