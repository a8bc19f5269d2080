-- Which attempts of order X's steps did not complete, and did a later one? Attempt spans of steps that ran more
-- than once, and, as history infers from the last attempt's number, every lower attempt number with no span of its
-- own: it ran (attempt N follows N-1) and never ended where the worker could export it (a process killed mid-attempt).
WITH attempts AS (
    SELECT workflow_id, run_id, activity_id, activity_type AS step, attempt,
           outcome = 'completed' AS completed
    FROM spans WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
), steps AS (
    SELECT workflow_id, run_id, activity_id, any_value(step) AS step, max(attempt) AS last,
           list(attempt) AS seen
    FROM attempts a
    -- only steps that reached an attempt above 1 can miss a lower one: the others are not grouped at all
    WHERE EXISTS (SELECT 1 FROM attempts r WHERE r.attempt > 1 AND r.workflow_id IS NOT DISTINCT FROM a.workflow_id
                    AND r.run_id IS NOT DISTINCT FROM a.run_id AND r.activity_id IS NOT DISTINCT FROM a.activity_id)
    GROUP BY ALL
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, step, attempt, completed
FROM attempts a
WHERE EXISTS (SELECT 1 FROM attempts b WHERE b.workflow_id = a.workflow_id AND b.run_id = a.run_id
                                         AND b.activity_id = a.activity_id AND (b.attempt > 1 OR NOT b.completed))
UNION ALL
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END, step, missing, false
FROM (SELECT *, unnest(range(1, last)) AS missing FROM steps)
WHERE NOT list_contains(seen, missing);
