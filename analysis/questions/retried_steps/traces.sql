-- Which steps of order X were retried, and how did each attempt end? One span per attempt and its
-- `temporal.outcome`: completed, failed, timed_out (the server gave up on it: start-to-close or heartbeat) or
-- canceled.
WITH attempts AS (
    SELECT workflow_id, run_id, activity_id, activity_type AS step, attempt,
           outcome AS outcome
    FROM spans
    WHERE source <> 'history' AND name LIKE 'RunActivity:%' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
)
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, step, attempt, outcome
FROM attempts a
WHERE EXISTS (SELECT 1 FROM attempts b WHERE b.workflow_id = a.workflow_id AND b.run_id = a.run_id
                                         AND b.activity_id = a.activity_id AND b.attempt > 1);
