-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? The latest
-- RunActivity span synthesized from history started by t: not ended by t, that attempt runs (after the previous attempt's span); ended by t
-- without completing (`temporal.outcome`), the next attempt comes after it.
WITH runs AS MATERIALIZED (
    -- `run` numbers the spans once (materialized): the latest is picked by number and joined back,
    -- which is cheaper than carrying the whole row through the aggregate
    SELECT row_number() OVER () AS run, workflow_id, activity_id, attempt, activity_type AS step, start_time,
           end_time, outcome,
           CASE outcome WHEN 'failed' THEN events->>'$[0].attributes."exception.message"'
                WHEN 'completed' THEN NULL ELSE 'timed out' END AS failure
    FROM spans WHERE source = 'history' AND name LIKE 'RunActivity:%' AND workflow_id LIKE 'order-%'
), latest AS (
    SELECT i.workflow_id, i.moment, arg_max(r.run, r.start_time) AS run
    FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
    JOIN runs r ON r.workflow_id = i.workflow_id AND r.start_time <= i.moment
    GROUP BY ALL
)
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END AS order_id, l.moment, c.step AS step,
       CASE WHEN c.end_time > l.moment THEN c.attempt ELSE c.attempt + 1 END AS attempt,
       CASE WHEN c.end_time > l.moment THEN p.failure ELSE c.failure END AS last_failure
FROM latest l
JOIN runs c ON c.run = l.run
LEFT JOIN runs p ON p.workflow_id = l.workflow_id AND p.activity_id = c.activity_id AND p.attempt = c.attempt - 1
WHERE c.end_time > l.moment OR c.outcome <> 'completed';
