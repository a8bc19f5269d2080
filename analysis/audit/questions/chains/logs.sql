-- Which runs started children and which continued as new? Logs name the run that continued as new; no record
-- names a child's parent.
SELECT workflow_type, run_id, 'continued as new' AS subject, NULL AS value, NULL AS detail
FROM audit_logs
WHERE event = 'workflow continued as new' AND run_id IS NOT NULL;
