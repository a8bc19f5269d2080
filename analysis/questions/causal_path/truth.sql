-- Which service called which for order X? Order and invoice workflows run on the orders service, which schedules
-- each step on the service that hosts it (see step_services).
SELECT DISTINCT order_id, 'orders' AS caller,
       CASE WHEN step IN ('reserve_stock', 'ship_order', 'release_stock') THEN 'shipping' ELSE 'payments' END
           AS callee,
       step
FROM ground_truth_attempts
WHERE outcome = 'completed';
