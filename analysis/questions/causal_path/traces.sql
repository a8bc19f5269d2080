-- Which service called which for order X? Each completed attempt span's parent (the StartActivity span of the
-- workflow that scheduled it): the parent's service called the child's.
SELECT DISTINCT substr(c.workflow_id, strpos(c.workflow_id, '-') + 1) AS order_id,
       p.service_name AS caller, c.service_name AS callee, c.activity_type AS step
FROM spans c
JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id AND p.source <> 'history'
 AND p.name LIKE 'StartActivity:%'
WHERE c.source <> 'history' AND c.name LIKE 'RunActivity:%' AND c.name <> 'RunActivity:record_order_status'
  AND c.outcome = 'completed' AND (c.workflow_id LIKE 'order-%' OR c.workflow_id LIKE 'invoice-%');
