-- Which attempts of order X's steps did not complete, and did a later one? The synthesized span of a step's last
-- attempt and its outcome; its attempt number N says attempts 1..N-1 ran and did not complete (history's derivation:
-- the span, like history, says how they ended, a timeout, not that a worker died).
WITH last AS (
    SELECT workflow_id, activity_type AS step, attempt,
           outcome = 'COMPLETED' AS completed
    FROM spans
    WHERE source = 'history' AND name LIKE 'RunActivity:%' AND attempt > 1 AND workflow_id LIKE 'order-%'
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, step, attempt, completed FROM last
UNION ALL
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END, step, unnest(range(1, attempt)), false FROM last;
