-- Which steps of order X were retried, and how did each attempt end? The synthesized span of a step's last attempt
-- (attempt > 1: the step was retried) with its outcome, and its 'retry' event naming the previous attempt and how it
-- failed (a TimeoutFailure timed out): history's derivation from the same evidence; any earlier attempt left nothing.
WITH last AS (
    SELECT workflow_id, activity_type AS step, attempt,
           lower(outcome) AS outcome, events
    FROM spans
    WHERE source = 'history' AND name LIKE 'RunActivity:%' AND attempt > 1
      AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
)
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, step, attempt, outcome FROM last
UNION ALL
SELECT substr(l.workflow_id, strpos(l.workflow_id, '-') + 1), l.step,
       CAST(r.ev->>'$.attributes."temporal.previous_attempt"' AS INTEGER),
       CASE WHEN r.ev->>'$.attributes."exception.type"' = 'TimeoutFailure' THEN 'timed_out' ELSE 'failed' END
FROM last l, LATERAL (SELECT unnest(CAST(l.events AS JSON[])) AS ev) r
WHERE r.ev->>'name' = 'retry';
