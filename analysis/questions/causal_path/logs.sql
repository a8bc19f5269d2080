-- Which service called which for order X? The service that wrote the run's 'workflow started' record (where the
-- workflow's code ran, and so what scheduled its activities) called the service that wrote each step's
-- 'activity completed' record in the same run.
SELECT DISTINCT substr(a.workflow_id, strpos(a.workflow_id, '-') + 1) AS order_id,
       w.service_name AS caller, a.service_name AS callee, a.activity_type AS step
FROM logs a
JOIN logs w ON w.event = 'workflow started' AND w.workflow_id = a.workflow_id AND w.run_id = a.run_id
WHERE a.event = 'activity completed' AND a.activity_type <> 'record_order_status'
  AND (a.workflow_id LIKE 'order-%' OR a.workflow_id LIKE 'invoice-%');
