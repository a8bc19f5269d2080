-- Which service ran each activity? The service.name of the activity's last attempt span.
SELECT workflow_type, run_id, activity_id AS subject, arg_max(service_name, attempt_inferred) AS value,
       arg_max(task_queue, attempt_inferred) AS detail
FROM audit_spans
WHERE is_attempt AND run_id IS NOT NULL
GROUP BY ALL;
