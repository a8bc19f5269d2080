-- How long did each completed step of order X take? The synthesized span of the attempt that completed.
SELECT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       attributes->>'$."temporal.activity_type"' AS step,
       duration_ms
FROM spans
WHERE source = 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND attributes->>'$."temporal.outcome"' = 'COMPLETED' AND regexp_matches(workflow_id, '^(order|invoice)-');
