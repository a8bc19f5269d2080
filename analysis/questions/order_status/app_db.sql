-- Did order X complete? The status column of the orders service's own table.
SELECT order_id,
       CASE status WHEN 'completed' THEN 'completed' WHEN 'payment_declined' THEN 'failed' ELSE 'open' END AS status
FROM app_orders;
