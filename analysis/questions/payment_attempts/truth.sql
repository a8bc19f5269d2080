-- How many attempts did payment authorization take for order X, and what failed on each? Injected by the driver.
SELECT order_id, attempt, error FROM ground_truth_attempts WHERE step = 'authorize_payment';
