-- Did order X complete, and with what final status? The status column of the orders service's own table.
SELECT order_id, status FROM app_orders;
