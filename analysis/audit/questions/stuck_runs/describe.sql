-- Which runs are open now and stuck retrying (attempt >= $min_attempts, or no heartbeat within the heartbeat
-- timeout), with the last failure? DescribeWorkflowExecution's pending activities, observed in place.
SELECT workflow_type, run_id, activity_id AS subject,
       'attempt ' || attempt || ': ' || coalesce(last_failure_message, 'no failure yet') AS value,
       activity_type AS detail, attempt, last_failure_message, last_heartbeat_time, workflow_id
FROM pending_activities
WHERE attempt >= $min_attempts
   OR (heartbeat_timeout_s > 0 AND observed_at - coalesce(last_heartbeat_time, last_started_time)
                                   > to_seconds(heartbeat_timeout_s));
