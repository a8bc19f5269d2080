-- Did order X complete? What the driver knows each order must end as.
SELECT order_id, expected_status AS status FROM ground_truth;
