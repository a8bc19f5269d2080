-- Which steps of order X were retried, and how did each attempt end? Every attempt of every step the driver made
-- run more than once (orders whose worker was killed are the crash question's).
SELECT order_id, step, attempt, outcome
FROM ground_truth_attempts a
WHERE order_id NOT IN (SELECT order_id FROM ground_truth WHERE crashed)
  AND EXISTS (SELECT 1 FROM ground_truth_attempts b WHERE b.order_id = a.order_id AND b.step = a.step
                                                      AND b.attempt > 1);
