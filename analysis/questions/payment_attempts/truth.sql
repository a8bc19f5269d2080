-- How many attempts did payment authorization take for order X, and what failed on each? Injected by the driver.
-- Orders whose worker was killed are asked separately (the crash question): an attempt lost to a crash has no
-- error of its own.
SELECT order_id, attempt, error
FROM ground_truth_attempts
WHERE step = 'authorize_payment' AND order_id NOT IN (SELECT order_id FROM ground_truth WHERE crashed);
