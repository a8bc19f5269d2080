-- Which orders were compensated, and by which steps in what order? Completed compensating activities, by event id.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       string_agg(activity_type, ',' ORDER BY event_id) AS compensations
FROM history_events
WHERE event_type = 'ActivityTaskCompleted' AND activity_type IN ('release_stock', 'refund_payment')
  AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
