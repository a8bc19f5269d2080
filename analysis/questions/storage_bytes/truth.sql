-- How many bytes does the source keep for order X? No truth to compare with: every order the driver started should
-- be measurable.
SELECT order_id FROM ground_truth;
