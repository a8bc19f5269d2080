-- Which attempts of order X's steps did not complete, and did a later one? 'activity started' records (written
-- before the work) and whether an 'activity completed' followed for the same attempt; as history infers from the
-- last attempt's number, a lower attempt number with no record of its own ran too and did not complete.
WITH attempts AS (
    SELECT s.workflow_id, s.run_id, s.activity_id, s.activity_type AS step, s.attempt,
           EXISTS (SELECT 1 FROM logs c WHERE c.event = 'activity completed' AND c.workflow_id = s.workflow_id
                     AND c.run_id = s.run_id AND c.activity_id = s.activity_id AND c.attempt = s.attempt)
               AS completed
    FROM logs s WHERE s.event = 'activity started' AND s.workflow_id LIKE 'order-%'
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
