-- Did order X complete, and with what final status? Visibility's List at the end ("orders closed in the last hour"):
-- each listed run's OrderStatus search attribute, the status the order upserted at its last change.
WITH listed AS (
    SELECT unnest(CAST(result AS JSON[])) AS run
    FROM temporal_visibility
    WHERE phase = 'final' AND name = 'closed_last_hour' AND error IS NULL
)
SELECT CASE WHEN run->>'workflow_id' LIKE 'order-%' THEN substr(run->>'workflow_id', 7) ELSE run->>'workflow_id' END AS order_id,
       run->'search_attributes'->>'OrderStatus' AS status
FROM listed;
