-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The latest
-- 'activity started' record by t: no end record by t, that attempt runs (after the previous attempt's end record);
-- an end record by t that is not 'completed': the next attempt comes after it (the logs cannot tell a final
-- failure from one that will be retried).
WITH started AS (
    SELECT workflow_id, activity_id, attempt, activity_type AS step, time
    FROM logs WHERE event = 'activity started' AND workflow_id LIKE 'order-%'
), ended AS (
    SELECT workflow_id, activity_id, attempt, time, event,
           CASE event WHEN 'activity failed' THEN attributes->>'error' WHEN 'activity completed' THEN NULL
                      ELSE 'timed out' END AS failure
    FROM logs
    WHERE event IN ('activity completed', 'activity failed', 'activity timed out', 'activity canceled')
      AND workflow_id LIKE 'order-%'
), latest AS (
    SELECT i.workflow_id, i.moment,
           arg_max({'activity_id': s.activity_id, 'attempt': s.attempt, 'step': s.step}, s.time) AS c
    FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
    JOIN started s ON s.workflow_id = i.workflow_id AND s.time <= i.moment
    GROUP BY ALL
)
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END AS order_id, l.moment, l.c.step AS step,
       CASE WHEN e.event IS NULL THEN l.c.attempt ELSE l.c.attempt + 1 END AS attempt,
       CASE WHEN e.event IS NULL THEN p.failure ELSE e.failure END AS last_failure
FROM latest l
LEFT JOIN ended e ON e.workflow_id = l.workflow_id AND e.activity_id = l.c.activity_id AND e.attempt = l.c.attempt
 AND e.time <= l.moment
LEFT JOIN ended p ON p.workflow_id = l.workflow_id AND p.activity_id = l.c.activity_id AND p.attempt = l.c.attempt - 1
WHERE e.event IS NULL OR e.event <> 'activity completed';
