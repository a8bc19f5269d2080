-- Which steps of order X were retried, and how did each attempt end? The last attempt's close event, and the one
-- failure its ActivityTaskStarted carries for the attempt before; any earlier attempt left nothing.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
WITH started AS (
    SELECT workflow_id, run_id, scheduled_event_id, activity_type, attempt, failure_type AS previous_failure_type
    FROM history_events
    WHERE event_type = 'ActivityTaskStarted' AND attempt > 1 AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
), closed AS (
    SELECT workflow_id, run_id, scheduled_event_id, event_type FROM history_events
    WHERE event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut')
)
SELECT substr(s.workflow_id, strpos(s.workflow_id, '-') + 1) AS order_id, s.activity_type AS step,
       s.attempt,
       CASE c.event_type WHEN 'ActivityTaskCompleted' THEN 'completed' WHEN 'ActivityTaskFailed' THEN 'failed'
                         ELSE 'timed_out' END AS outcome
FROM started s JOIN closed c USING (workflow_id, run_id, scheduled_event_id)
UNION ALL
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1), activity_type, attempt - 1,
       CASE WHEN previous_failure_type = 'TimeoutFailure' THEN 'timed_out' ELSE 'failed' END
FROM started
UNION
-- Describe, while the order was open: a pending activity on attempt N > 1 says attempt N-1 ended with its last
-- failure (a timeout or an error).
SELECT DISTINCT substr(workflow_id, strpos(workflow_id, '-') + 1), p.activity_type, CAST(p.attempt AS INTEGER) - 1,
       CASE WHEN p.last_failure_type = 'Timeout' THEN 'timed_out' ELSE 'failed' END
FROM (SELECT workflow_id,
             -- each pending activity parsed once into the fields read (->> would parse it per field)
             unnest(json_transform(pending_activities, '[{"activity_type": "VARCHAR", "attempt": "VARCHAR",
                                                         "last_failure_type": "VARCHAR",
                                                         "last_failure_message": "VARCHAR"}]')) AS p
      FROM temporal_observations
      WHERE api = 'describe' AND answered AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%'))
WHERE CAST(p.attempt AS INTEGER) > 1 AND p.last_failure_message IS NOT NULL;
