-- How long did each completed step of order X take? The duration of the activity attempt span that completed.
SELECT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       attributes->>'$."temporal.activity_type"' AS step,
       duration_ms
FROM spans
WHERE name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status' AND source = 'otlp'
  AND attributes->>'$."temporal.outcome"' = 'completed' AND regexp_matches(workflow_id, '^(order|invoice)-');
