-- How many orders ended in each status? Visibility's Count with `OrderStatus = "<status>"`, one per status of the
-- orders' vocabulary, asked at the end (Count groups only by ExecutionStatus, so each status is its own count).
SELECT regexp_replace(name, '^status:', '') AS status, CAST(result->>'count' AS BIGINT) AS orders
FROM temporal_visibility
WHERE phase = 'final' AND kind = 'count' AND name LIKE 'status:%' AND error IS NULL
  AND CAST(result->>'count' AS BIGINT) > 0;
