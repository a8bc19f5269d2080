-- Which service ran each step of order X? The service that wrote 'activity completed'.
SELECT DISTINCT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id,
       activity_type AS step, service_name AS service
FROM logs
WHERE event = 'activity completed' AND activity_type <> 'record_order_status'
  AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%');
