-- Which activities were retried, and how did each attempt end? One end record per attempt.
WITH attempts AS (
    SELECT workflow_type, run_id, activity_id, attempt, activity_type,
           CASE event WHEN 'activity completed' THEN 'completed' WHEN 'activity failed' THEN 'failed'
                      WHEN 'activity timed out' THEN 'timed_out' ELSE 'canceled' END AS outcome
    FROM audit_logs
    WHERE event IN ('activity completed', 'activity failed', 'activity timed out', 'activity canceled')
      AND run_id IS NOT NULL
)
SELECT workflow_type, run_id, activity_id || ' #' || attempt AS subject, outcome AS value, activity_type AS detail
FROM attempts a
WHERE EXISTS (SELECT 1 FROM attempts b WHERE b.run_id = a.run_id AND b.activity_id = a.activity_id AND b.attempt > 1);
