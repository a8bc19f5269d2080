-- For a failed order X: which step failed for good, and with what error? A failed attempt span no later attempt of
-- the same activity followed; the error is the span's exception event.
SELECT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id,
       s.activity_type AS step,
       s.events->>'$[0].attributes."exception.message"' AS error
FROM spans s
WHERE s.source <> 'history' AND s.name LIKE 'RunActivity:%' AND s.workflow_id LIKE 'order-%'
  AND s.outcome = 'failed'
  AND NOT EXISTS (SELECT 1 FROM spans n
                  WHERE n.source = s.source AND n.workflow_id = s.workflow_id AND n.run_id = s.run_id
                    AND n.activity_id = s.activity_id AND n.name = s.name AND n.attempt > s.attempt);
