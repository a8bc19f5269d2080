-- Which activities were retried, and how did each attempt end? One span per attempt and its outcome.
WITH attempts AS (
    SELECT workflow_type, run_id, activity_id, attempt_inferred AS attempt, outcome, activity_type
    FROM audit_spans WHERE is_attempt AND run_id IS NOT NULL
)
SELECT workflow_type, run_id, activity_id || ' #' || attempt AS subject, outcome AS value, activity_type AS detail
FROM attempts a
WHERE EXISTS (SELECT 1 FROM attempts b WHERE b.run_id = a.run_id AND b.activity_id = a.activity_id AND b.attempt > 1);
