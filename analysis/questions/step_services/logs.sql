-- Which service ran each step of order X? The service that wrote 'activity completed'.
SELECT DISTINCT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       attributes->>'$."temporal.activity_type"' AS step, service_name AS service
FROM logs
WHERE event = 'activity completed' AND attributes->>'$."temporal.activity_type"' <> 'record_order_status'
  AND regexp_matches(workflow_id, '^(order|invoice)-');
