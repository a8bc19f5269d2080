-- Which service ran each step of order X? The service.name of the completed attempt span.
SELECT DISTINCT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       attributes->>'$."temporal.activity_type"' AS step, service_name AS service
FROM spans
WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND attributes->>'$."temporal.outcome"' = 'completed' AND regexp_matches(workflow_id, '^(order|invoice)-');
