-- Which service ran each step of order X? The sample app's deployment: shipping hosts the stock and shipping steps,
-- payments the payment and invoice steps (each on its own task queue).
SELECT DISTINCT order_id, step,
       CASE WHEN step IN ('reserve_stock', 'ship_order', 'release_stock') THEN 'shipping' ELSE 'payments' END
           AS service
FROM ground_truth_attempts
WHERE outcome = 'completed';
