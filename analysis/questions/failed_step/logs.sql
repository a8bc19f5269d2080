-- For a failed order X: which step failed for good, and with what error? An 'activity failed' record no later
-- attempt of the same activity followed.
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END AS order_id,
       l.activity_type AS step,
       l.attributes->>'error' AS error
FROM logs l
WHERE l.event = 'activity failed' AND l.workflow_id LIKE 'order-%'
  AND NOT EXISTS (SELECT 1 FROM logs n
                  WHERE n.workflow_id = l.workflow_id AND n.run_id = l.run_id AND n.activity_id = l.activity_id
                    AND n.event = 'activity started' AND n.attempt > l.attempt);
