-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? Describe's
-- pending activities, asked at t: the activity, its attempt (the next one while in backoff), its last failure.
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, p.activity_type AS step,
       CAST(p.attempt AS INTEGER) AS attempt,
       CASE WHEN p.last_failure_type = 'Timeout' THEN 'timed out' ELSE p.last_failure_message END AS last_failure
FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
JOIN (SELECT workflow_id, asked_at,
             -- each pending activity parsed once into the fields read (->> would parse it per field)
             unnest(json_transform(pending_activities, '[{"activity_type": "VARCHAR", "attempt": "VARCHAR",
                                                         "last_failure_type": "VARCHAR",
                                                         "last_failure_message": "VARCHAR"}]')) AS p
      FROM temporal_observations WHERE api = 'describe' AND phase = 'open' AND answered) d
  ON d.workflow_id = i.workflow_id AND d.asked_at = i.moment;
