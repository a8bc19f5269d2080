-- Which service ran each step of order X? The service.name of the completed attempt span.
SELECT DISTINCT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id,
       activity_type AS step, service_name AS service
FROM spans
WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND outcome = 'completed' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%');
