-- Why did activities fail, by activity type? The last attempt's close event, and the failure of the attempt before
-- it that ActivityTaskStarted carries; any earlier attempt's failure is not in history.
SELECT workflow_type, run_id, activity_type || ' ' || activity_id || ' #' || attempt AS subject,
       failure_message AS value, activity_type AS detail
FROM audit_activities
WHERE close_type IN ('ActivityTaskFailed', 'ActivityTaskTimedOut') AND attempt IS NOT NULL
UNION ALL
SELECT workflow_type, run_id, activity_type || ' ' || activity_id || ' #' || (attempt - 1), previous_failure,
       activity_type
FROM audit_activities
WHERE attempt > 1 AND previous_failure IS NOT NULL;
