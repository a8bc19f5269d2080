-- How many orders ended in each status? The last status the orders service logged per order, counted.
WITH per_order AS (
SELECT attributes->>'order_id' AS order_id, attributes->>'status' AS status
FROM logs
WHERE event = 'order status recorded'
QUALIFY row_number() OVER (PARTITION BY attributes->>'order_id' ORDER BY time DESC) = 1
)
SELECT status, count(*) AS orders FROM per_order GROUP BY 1;
