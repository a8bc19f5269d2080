-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? Describe's
-- pending activities, asked at t: the activity, its attempt (the next one while in backoff), its last failure.
SELECT regexp_replace(i.workflow_id, '^order-', '') AS order_id, i.moment, a->>'activity_type' AS step,
       CAST(a->>'attempt' AS INTEGER) AS attempt,
       CASE WHEN a->>'last_failure_type' = 'Timeout' THEN 'timed out' ELSE a->>'last_failure_message' END
           AS last_failure
FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
JOIN temporal_observations d
  ON d.workflow_id = i.workflow_id AND d.api = 'describe' AND d.phase = 'open' AND d.answered
 AND d.asked_at = i.moment,
     unnest(CAST(d.pending_activities AS JSON[])) AS p(a);
