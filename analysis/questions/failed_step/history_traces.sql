-- For a failed order X: which step failed for good, and with what error? Synthesized activity spans that failed.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       activity_type AS step,
       status_message AS error
FROM spans
WHERE source = 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
  AND outcome = 'FAILED';
