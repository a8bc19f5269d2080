-- Which service called which for order X? The synthesized workflow span's task queue (where the workflow's code ran)
-- called each completed activity span's task queue: history's derivation, queue names standing in for services.
SELECT DISTINCT substr(a.workflow_id, strpos(a.workflow_id, '-') + 1) AS order_id, w.caller, a.callee, a.step
FROM (SELECT workflow_id, run_id, attributes->>'$."temporal.task_queue"' AS callee, activity_type AS step
      FROM spans WHERE source = 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
        AND outcome = 'COMPLETED' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')) a
JOIN (SELECT workflow_id, run_id, attributes->>'$."temporal.task_queue"' AS caller
      FROM spans WHERE source = 'history' AND name LIKE 'RunWorkflow:%') w
  ON w.workflow_id = a.workflow_id AND w.run_id = a.run_id;
