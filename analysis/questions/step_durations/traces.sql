-- How long did each completed step of order X take? The duration of the activity span that succeeded.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       attributes->>'$."temporal.activity_type"' AS step,
       duration_ms
FROM spans
WHERE name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND status_code <> 'ERROR' AND workflow_id LIKE 'order-%';
