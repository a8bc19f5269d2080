-- For a failed order X: which step failed for good, and with what error? The failed attempts no later attempt of
-- the same step followed.
SELECT a.order_id, a.step, a.error
FROM ground_truth_attempts a
WHERE a.outcome = 'failed'
  AND NOT EXISTS (SELECT 1 FROM ground_truth_attempts b
                  WHERE b.order_id = a.order_id AND b.step = a.step AND b.attempt > a.attempt);
