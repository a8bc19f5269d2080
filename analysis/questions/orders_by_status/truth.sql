-- How many orders ended in each status? The business outcomes the driver planned.
SELECT expected_order_status AS status, count(*) AS orders FROM ground_truth GROUP BY 1;
