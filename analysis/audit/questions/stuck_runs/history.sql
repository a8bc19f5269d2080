-- Which runs are open now and stuck retrying? History writes an attempt only when the activity closes, so all it
-- can show is an activity of an open run still unclosed past its start-to-close timeout (so retried at least once);
-- it cannot tell the attempt count or the last failure.
SELECT workflow_type, run_id, activity_id AS subject, 'unclosed past its start-to-close timeout' AS value,
       activity_type AS detail
FROM audit_activities
WHERE run_status = 'RUNNING' AND close_type IS NULL
  AND scheduled_time + to_seconds(TRY_CAST(rtrim(scheduled_attributes->>'$.startToCloseTimeout', 's') AS DOUBLE))
      < now();
