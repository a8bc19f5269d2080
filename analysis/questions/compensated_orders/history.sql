-- Which orders were compensated, and by which steps in what order? Completed compensating activities, by event id.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       string_agg(activity_type, ',' ORDER BY event_id) AS compensations
FROM history_events
WHERE event_type = 'ActivityTaskCompleted' AND activity_type IN ('release_stock', 'refund_payment')
  AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
