-- Which orders were compensated, and by which steps in what order? 'activity completed' of compensating steps.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       string_agg(activity_type, ',' ORDER BY time) AS compensations
FROM logs
WHERE event = 'activity completed' AND workflow_id LIKE 'order-%'
  AND activity_type IN ('release_stock', 'refund_payment')
GROUP BY workflow_id;
