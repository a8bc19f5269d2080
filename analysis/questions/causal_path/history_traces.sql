-- Which service called which for order X? The synthesized workflow span's task queue (where the workflow's code ran)
-- called each completed activity span's task queue: history's derivation, queue names standing in for services.
SELECT DISTINCT substr(a.workflow_id, strpos(a.workflow_id, '-') + 1) AS order_id,
       w.attributes->>'$."temporal.task_queue"' AS caller, a.attributes->>'$."temporal.task_queue"' AS callee,
       a.activity_type AS step
FROM spans a
JOIN spans w ON w.source = 'history' AND w.workflow_id = a.workflow_id AND w.run_id = a.run_id
 AND w.name LIKE 'RunWorkflow:%'
WHERE a.source = 'history' AND a.name LIKE 'RunActivity:%' AND a.name <> 'RunActivity:record_order_status'
  AND a.outcome = 'COMPLETED' AND (a.workflow_id LIKE 'order-%' OR a.workflow_id LIKE 'invoice-%');
