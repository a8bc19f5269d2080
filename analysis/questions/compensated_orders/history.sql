-- Which orders were compensated, and by which steps in what order? Completed compensating activities, by event id.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       string_agg(activity_type, ',' ORDER BY event_id) AS compensations
FROM history_events
WHERE event_type = 'ActivityTaskCompleted' AND activity_type IN ('release_stock', 'refund_payment')
  AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
