-- Which attempts of order X's steps did not complete, and did a later one? The last attempt's number and outcome;
-- every earlier attempt number ended without completing (history says how: a timeout, not a crash).
WITH started AS (
    SELECT workflow_id, run_id, scheduled_event_id, activity_type, attempt FROM history_events
    WHERE event_type = 'ActivityTaskStarted' AND attempt > 1 AND workflow_id LIKE 'order-%'
)
SELECT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id, s.activity_type AS step, s.attempt,
       c.event_type = 'ActivityTaskCompleted' AS completed
FROM started s
JOIN history_events c ON c.workflow_id = s.workflow_id AND c.run_id = s.run_id
 AND c.scheduled_event_id = s.scheduled_event_id
 AND c.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut')
UNION ALL
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END, activity_type, unnest(range(1, attempt)), false
FROM started;
