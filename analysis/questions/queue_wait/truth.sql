-- Per activity type: p50/p95 execution time (the work the driver injected into each completed attempt: a floor).
-- Queue wait has no ground truth; the question asks only whether a source can see it at all.
SELECT step,
       quantile_cont(work_ms, 0.5) AS work_p50_ms,
       quantile_cont(work_ms, 0.95) AS work_p95_ms
FROM ground_truth_attempts
WHERE outcome = 'completed'
GROUP BY step;
