-- How many attempts did payment authorization take for order X, and what failed on each?
-- History keeps one ActivityTaskStarted per activity, for the last attempt, carrying the previous attempt's failure;
-- earlier attempts leave no trace.
WITH started AS (
    SELECT workflow_id, run_id, scheduled_event_id, attempt, failure_message AS previous_failure
    FROM history_events
    WHERE event_type = 'ActivityTaskStarted' AND activity_type = 'authorize_payment'
), closed AS (
    SELECT workflow_id, run_id, scheduled_event_id, event_type,
           CASE WHEN event_type = 'ActivityTaskCompleted' THEN NULL ELSE failure_message END AS error
    FROM history_events
    WHERE event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut')
      AND activity_type = 'authorize_payment'
)
SELECT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id, s.attempt, c.error
FROM started s JOIN closed c USING (workflow_id, run_id, scheduled_event_id)
UNION ALL
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END, attempt - 1, previous_failure
FROM started WHERE attempt > 1;
