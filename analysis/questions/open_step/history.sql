-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The exported
-- history as it stood at t: an ActivityTaskScheduled with no close event by t. Its ActivityTaskStarted, written
-- only for the last attempt, dates from that attempt's start: before it, the history shows attempt 1, no failure.
WITH scheduled AS (
    SELECT workflow_id, run_id, event_id, activity_type, event_time FROM history_events
    WHERE event_type = 'ActivityTaskScheduled' AND workflow_id LIKE 'order-%'
)
SELECT regexp_replace(i.workflow_id, '^order-', '') AS order_id, i.moment, s.activity_type AS step,
       coalesce(st.attempt, 1) AS attempt,
       CASE WHEN st.failure_type = 'TimeoutFailure' THEN 'timed out' ELSE st.failure_message END AS last_failure
FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
JOIN scheduled s ON s.workflow_id = i.workflow_id AND s.event_time <= i.moment
LEFT JOIN history_events st
  ON st.workflow_id = s.workflow_id AND st.run_id = s.run_id AND st.scheduled_event_id = s.event_id
 AND st.event_type = 'ActivityTaskStarted' AND st.event_time <= i.moment
WHERE NOT EXISTS (
    SELECT 1 FROM history_events c
    WHERE c.workflow_id = s.workflow_id AND c.run_id = s.run_id AND c.scheduled_event_id = s.event_id
      AND c.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut',
                           'ActivityTaskCanceled')
      AND c.event_time <= i.moment);
