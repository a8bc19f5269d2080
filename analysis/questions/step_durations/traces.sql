-- How long did each completed step of order X take? The duration of the activity attempt span that completed.
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id,
       activity_type AS step,
       duration_ms
FROM spans
WHERE name LIKE 'RunActivity:%' AND name <> 'RunActivity:record_order_status' AND source <> 'history'
  AND outcome = 'completed' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%');
