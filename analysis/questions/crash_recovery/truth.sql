-- Order X's worker was killed mid-step: which attempts were lost, and did one complete after the restart? Every
-- attempt of the step the driver killed the worker in.
SELECT a.order_id, a.step, a.attempt, a.outcome = 'completed' AS completed
FROM ground_truth_attempts a
JOIN ground_truth_crashes c ON c.order_id = a.order_id AND c.step = a.step;
