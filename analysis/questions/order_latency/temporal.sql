-- How long did order X take end to end? Visibility's List at the end gives each run's start and close time.
WITH listed AS (
    SELECT unnest(CAST(result AS JSON[])) AS run
    FROM temporal_visibility
    WHERE phase = 'final' AND name = 'closed_last_hour' AND error IS NULL
)
SELECT regexp_replace(run->>'workflow_id', '^order-', '') AS order_id,
       date_diff('microsecond', CAST(run->>'start_time' AS TIMESTAMPTZ), CAST(run->>'close_time' AS TIMESTAMPTZ))
           / 1000.0 AS latency_ms
FROM listed;
