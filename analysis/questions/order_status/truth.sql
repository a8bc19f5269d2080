-- Did order X complete, and with what final status? The business outcome the driver planned for each order.
SELECT order_id, expected_order_status AS status FROM ground_truth;
