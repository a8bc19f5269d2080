-- Which service ran each activity? The service that wrote the activity's last end record.
SELECT workflow_type, run_id, activity_id AS subject, arg_max(service_name, attempt) AS value, NULL AS detail
FROM audit_logs
WHERE event IN ('activity completed', 'activity failed', 'activity timed out', 'activity canceled')
  AND run_id IS NOT NULL
GROUP BY ALL;
