-- Which activities were retried, and how did each attempt end? History holds the last attempt's end, and that the
-- attempt before it failed (ActivityTaskStarted's last failure); attempts before that left nothing.
SELECT workflow_type, run_id, activity_id || ' #' || attempt AS subject,
       CASE close_type WHEN 'ActivityTaskCompleted' THEN 'completed' WHEN 'ActivityTaskFailed' THEN 'failed'
                       WHEN 'ActivityTaskTimedOut' THEN 'timed_out' ELSE 'canceled' END AS value,
       activity_type AS detail
FROM audit_activities
WHERE attempt > 1 AND close_type IS NOT NULL
UNION ALL
SELECT workflow_type, run_id, activity_id || ' #' || (attempt - 1),
       CASE WHEN previous_failure_type = 'TimeoutFailure' THEN 'timed_out' ELSE 'failed' END, activity_type
FROM audit_activities
WHERE attempt > 1;
