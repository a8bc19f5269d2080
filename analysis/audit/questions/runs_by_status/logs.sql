-- How many runs of each type ended in each status? The run's closing lifecycle record.
SELECT workflow_type, run_id, 'status' AS subject,
       CASE event WHEN 'workflow completed' THEN 'COMPLETED' WHEN 'workflow failed' THEN 'FAILED'
                  WHEN 'workflow canceled' THEN 'CANCELED' ELSE 'CONTINUED_AS_NEW' END AS value,
       strftime(date_trunc('hour', time), '%Y-%m-%d %H:00') AS detail
FROM audit_logs
WHERE event IN ('workflow completed', 'workflow failed', 'workflow canceled', 'workflow continued as new')
  AND run_id IS NOT NULL;
