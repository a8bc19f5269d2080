-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The spans
-- synthesized from history, read as the exported history is (open_step/history.sql): a step's QueueWait span starts
-- when it was scheduled; its RunActivity span, made only for the last attempt, runs from that attempt's start to
-- the close and carries, first among its events, the 'retry' event naming the previous attempt's failure; a step
-- never started closes with its QueueWait span. Before the RunActivity span starts, it shows attempt 1, no failure.
WITH waits AS (
    SELECT workflow_id, run_id, activity_id, activity_type AS step, start_time AS scheduled_at, end_time AS wait_end
    FROM spans WHERE source = 'history' AND name LIKE 'QueueWait:%' AND workflow_id LIKE 'order-%'
), runs AS (
    SELECT workflow_id, run_id, activity_id, attempt, start_time AS started_at, end_time AS closed_at,
           -- a retry event exists only on an attempt after the first: the others' events are not parsed
           CASE WHEN attempt > 1 AND events->>'$[0].name' = 'retry'
                THEN CASE WHEN events->>'$[0].attributes."exception.type"' = 'TimeoutFailure' THEN 'timed out'
                          ELSE events->>'$[0].attributes."exception.message"' END END AS failure
    FROM spans WHERE source = 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
), activities AS (
    SELECT w.workflow_id, w.step, w.scheduled_at, r.started_at, r.attempt, r.failure,
           CASE WHEN r.started_at IS NULL THEN w.wait_end ELSE r.closed_at END AS closed_at
    FROM waits w LEFT JOIN runs r USING (workflow_id, run_id, activity_id)
)
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, a.step,
       coalesce(CASE WHEN a.started_at <= i.moment THEN a.attempt END, 1) AS attempt,
       CASE WHEN a.started_at <= i.moment THEN a.failure END AS last_failure
FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
JOIN activities a ON a.workflow_id = i.workflow_id AND a.scheduled_at <= i.moment
WHERE a.closed_at IS NULL OR a.closed_at > i.moment;
