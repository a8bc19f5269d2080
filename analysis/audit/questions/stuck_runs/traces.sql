-- Which runs are open now and stuck retrying? Activities of runs not closed in history whose attempt spans
-- reached $min_attempts and whose latest attempt failed, with that attempt's error.
WITH latest AS (
    SELECT s.workflow_type, s.run_id, s.activity_id, s.activity_type, s.attempt_inferred AS attempt, s.outcome,
           s.status_message, row_number() OVER (PARTITION BY s.run_id, s.activity_id ORDER BY s.attempt_inferred DESC) AS n
    FROM audit_spans s
    JOIN workflows w ON w.run_id = s.run_id AND w.status = 'RUNNING'
    WHERE s.is_attempt
)
SELECT workflow_type, run_id, activity_id AS subject,
       'attempt ' || attempt || ': ' || coalesce(status_message, outcome) AS value, activity_type AS detail
FROM latest
WHERE n = 1 AND attempt >= $min_attempts AND outcome <> 'completed';
