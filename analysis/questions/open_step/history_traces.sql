-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The latest
-- RunActivity span synthesized from history started by t: not ended by t, that attempt runs (after the previous attempt's span); ended by t
-- without completing (`temporal.outcome`), the next attempt comes after it.
WITH runs AS (
    SELECT workflow_id, activity_id, attempt, activity_type AS step, start_time,
           end_time, outcome,
           CASE outcome WHEN 'failed' THEN events->>'$[0].attributes."exception.message"'
                WHEN 'completed' THEN NULL ELSE 'timed out' END AS failure
    FROM spans WHERE source = 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
), latest AS (
    SELECT i.workflow_id, i.moment,
           arg_max({'activity_id': r.activity_id, 'attempt': r.attempt, 'step': r.step, 'end_time': r.end_time,
                    'outcome': r.outcome, 'failure': r.failure}, r.start_time) AS c
    FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
    JOIN runs r ON r.workflow_id = i.workflow_id AND r.start_time <= i.moment
    GROUP BY ALL
)
SELECT regexp_replace(l.workflow_id, '^order-', '') AS order_id, l.moment, l.c.step AS step,
       CASE WHEN l.c.end_time > l.moment THEN l.c.attempt ELSE l.c.attempt + 1 END AS attempt,
       CASE WHEN l.c.end_time > l.moment THEN p.failure ELSE l.c.failure END AS last_failure
FROM latest l
LEFT JOIN runs p ON p.workflow_id = l.workflow_id AND p.activity_id = l.c.activity_id AND p.attempt = l.c.attempt - 1
WHERE l.c.end_time > l.moment OR l.c.outcome <> 'completed';
