-- How long did order X take end to end? Visibility's List at the end gives each run's start and close time.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
WITH listed AS (
    SELECT unnest(CAST(result AS JSON[])) AS run
    FROM temporal_visibility
    WHERE phase = 'final' AND name = 'closed_last_hour' AND error IS NULL
)
SELECT CASE WHEN run->>'workflow_id' LIKE 'order-%' THEN substr(run->>'workflow_id', 7) ELSE run->>'workflow_id' END AS order_id,
       (epoch_us(CAST(run->>'close_time' AS TIMESTAMPTZ)) - epoch_us(CAST(run->>'start_time' AS TIMESTAMPTZ)))
           / 1000.0 AS latency_ms
FROM listed;
