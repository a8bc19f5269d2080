-- How many attempts did payment authorization take for order X, and what failed on each?
-- History keeps one ActivityTaskStarted per activity, for the last attempt, carrying the previous attempt's failure;
-- earlier attempts leave no trace.
-- Temporal in place: the run's history as `temporal workflow show` presents it (one run at a time), and what
-- Describe said while the order was open.
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
FROM started WHERE attempt > 1
UNION
-- Describe, while the order was open: a pending authorization on attempt N carries attempt N-1's failure, so an
-- attempt the history overwrote is still seen if Describe was asked during it or its backoff.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END, CAST(p.attempt AS INTEGER) - 1, p.last_failure_message
FROM (SELECT workflow_id,
             -- each pending activity parsed once into the fields read (->> would parse it per field)
             unnest(json_transform(pending_activities, '[{"activity_type": "VARCHAR", "attempt": "VARCHAR",
                                                         "last_failure_message": "VARCHAR"}]')) AS p
      FROM temporal_observations WHERE api = 'describe' AND answered AND workflow_id LIKE 'order-%'
        -- the text tested first: only an answer whose JSON names the activity is parsed
        AND contains(pending_activities, 'authorize_payment'))
WHERE p.activity_type = 'authorize_payment' AND CAST(p.attempt AS INTEGER) > 1 AND p.last_failure_message IS NOT NULL;
