-- Which orders closed in the period? Visibility's List with `CloseTime >= <an hour ago>` (a list filter Temporal has),
-- asked at the end: only runs still retained are listed; the period's bounds pick the listed close times.
WITH listed AS (
    SELECT unnest(CAST(result AS JSON[])) AS run
    FROM temporal_visibility
    WHERE phase = 'final' AND name = 'closed_last_hour' AND error IS NULL
)
SELECT DISTINCT CASE WHEN run->>'workflow_id' LIKE 'order-%' THEN substr(run->>'workflow_id', 7) ELSE run->>'workflow_id' END AS order_id
FROM listed
WHERE CAST(run->>'close_time' AS TIMESTAMPTZ) >= $since AND CAST(run->>'close_time' AS TIMESTAMPTZ) < $until;
