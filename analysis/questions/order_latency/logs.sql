-- How long did order X take end to end? From the run's start as the 'workflow started' record states it (the
-- server's start time: the record itself is written at the first workflow task, which may wait in the task queue)
-- to 'workflow completed' or 'workflow failed'.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       (epoch_us(max(time) FILTER (WHERE event IN ('workflow completed', 'workflow failed')))
        - epoch_us(min(coalesce(CAST(attributes->>'$."temporal.workflow_start_time"' AS TIMESTAMPTZ), time))
                       FILTER (WHERE event = 'workflow started'))) / 1000.0 AS latency_ms
FROM logs
WHERE workflow_id LIKE 'order-%' AND event IN ('workflow started', 'workflow completed', 'workflow failed')
GROUP BY workflow_id;
