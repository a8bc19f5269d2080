-- Which attempts of order X's steps did not complete, and did a later one? Attempt spans of steps that ran more
-- than once; a process killed mid-attempt never exports that attempt's span.
WITH attempts AS (
    SELECT workflow_id, run_id, activity_id, attributes->>'$."temporal.activity_type"' AS step, attempt,
           attributes->>'$."temporal.outcome"' = 'completed' AS completed
    FROM spans WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
)
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id, step, attempt, completed
FROM attempts a
WHERE EXISTS (SELECT 1 FROM attempts b WHERE b.workflow_id = a.workflow_id AND b.run_id = a.run_id
                                         AND b.activity_id = a.activity_id AND (b.attempt > 1 OR NOT b.completed));
