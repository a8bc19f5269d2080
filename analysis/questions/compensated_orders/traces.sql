-- Which orders were compensated, and by which steps in what order? Completed compensating activity spans, by start.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       string_agg(activity_type, ',' ORDER BY start_time) AS compensations
FROM spans
WHERE source <> 'history' AND name IN ('RunActivity:release_stock', 'RunActivity:refund_payment')
  AND outcome = 'completed' AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
