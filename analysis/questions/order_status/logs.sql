-- Did order X complete, and with what final status? The last status the orders service logged for each order.
SELECT attributes->>'order_id' AS order_id, attributes->>'status' AS status
FROM logs
WHERE event = 'order status recorded'
QUALIFY row_number() OVER (PARTITION BY attributes->>'order_id' ORDER BY time DESC) = 1;
