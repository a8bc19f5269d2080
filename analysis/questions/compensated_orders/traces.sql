-- Which orders were compensated, and by which steps in what order? Completed compensating activity spans, by start.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       string_agg(activity_type, ',' ORDER BY start_time) AS compensations
FROM spans
WHERE source <> 'history' AND name IN ('RunActivity:release_stock', 'RunActivity:refund_payment')
  AND outcome = 'completed' AND workflow_id LIKE 'order-%'
GROUP BY workflow_id;
