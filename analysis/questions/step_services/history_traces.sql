-- Which service ran each step of order X? The task queue on the synthesized span of the attempt that completed:
-- history's derivation (here each service polls a queue of its own name); the span's service.name is only
-- 'temporal-history'.
SELECT DISTINCT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id,
       activity_type AS step, attributes->>'$."temporal.task_queue"' AS service
FROM spans
WHERE source = 'history' AND name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status'
  AND outcome = 'COMPLETED' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%');
