-- Why did activities fail, by activity type? Every 'activity failed' / 'activity timed out' record's error.
SELECT workflow_type, run_id, activity_type || ' ' || activity_id || ' #' || attempt AS subject,
       attributes->>'$.error' AS value, activity_type AS detail
FROM audit_logs
WHERE event IN ('activity failed', 'activity timed out') AND run_id IS NOT NULL;
