-- Why did activities fail, by activity type? Every attempt span that ended in error, with its status message.
SELECT workflow_type, run_id, activity_type || ' ' || activity_id || ' #' || attempt_inferred AS subject,
       status_message AS value, activity_type AS detail
FROM audit_spans
WHERE is_attempt AND status_code = 'ERROR' AND run_id IS NOT NULL;
