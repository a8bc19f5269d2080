-- Which durable timers did order X start, and did each fire or get canceled? Bank-transfer orders wait for payment
-- on a timer: it fires when nobody confirms (expire) and is canceled when a signal ends the wait.
SELECT order_id, CASE scenario WHEN 'expire' THEN 'fired' ELSE 'canceled' END AS outcome
FROM ground_truth
WHERE payment_method = 'bank_transfer';
