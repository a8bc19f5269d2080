-- Which runs are open now and stuck retrying? Activities of runs not closed in history whose attempt end records
-- reached $min_attempts and whose latest attempt failed, with that attempt's error.
WITH latest AS (
    SELECT l.workflow_type, l.run_id, l.activity_id, l.activity_type, l.attempt, l.event,
           l.attributes->>'$.error' AS error,
           row_number() OVER (PARTITION BY l.run_id, l.activity_id ORDER BY l.attempt DESC, l.time DESC) AS n
    FROM audit_logs l
    JOIN workflows w ON w.run_id = l.run_id AND w.status = 'RUNNING'
    WHERE l.event IN ('activity completed', 'activity failed', 'activity timed out', 'activity canceled')
)
SELECT workflow_type, run_id, activity_id AS subject, 'attempt ' || attempt || ': ' || coalesce(error, event) AS value,
       activity_type AS detail
FROM latest
WHERE n = 1 AND attempt >= $min_attempts AND event <> 'activity completed';
