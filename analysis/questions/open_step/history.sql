-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The exported
-- history as it stood at t: an ActivityTaskScheduled with no close event by t. Its ActivityTaskStarted, written
-- only for the last attempt, dates from that attempt's start: before it, the history shows attempt 1, no failure.
WITH closes AS (
    -- an activity's close event, read as is: a run's history closes each scheduled activity at most once
    SELECT workflow_id, run_id, scheduled_event_id, event_time AS closed_at
    FROM history_events
    WHERE event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled')
      AND workflow_id LIKE 'order-%'
), activities AS (
    SELECT s.workflow_id, s.activity_type, s.event_time AS scheduled_at, st.event_time AS started_at, st.attempt,
           CASE WHEN st.failure_type = 'TimeoutFailure' THEN 'timed out' ELSE st.failure_message END AS failure,
           c.closed_at
    FROM history_events s
    LEFT JOIN history_events st
      ON st.workflow_id = s.workflow_id AND st.run_id = s.run_id AND st.scheduled_event_id = s.event_id
     AND st.event_type = 'ActivityTaskStarted'
    LEFT JOIN closes c ON c.workflow_id = s.workflow_id AND c.run_id = s.run_id AND c.scheduled_event_id = s.event_id
    WHERE s.event_type = 'ActivityTaskScheduled' AND s.workflow_id LIKE 'order-%'
)
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, a.activity_type AS step,
       coalesce(CASE WHEN a.started_at <= i.moment THEN a.attempt END, 1) AS attempt,
       CASE WHEN a.started_at <= i.moment THEN a.failure END AS last_failure
FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
JOIN activities a ON a.workflow_id = i.workflow_id AND a.scheduled_at <= i.moment
WHERE a.closed_at IS NULL OR a.closed_at > i.moment;
