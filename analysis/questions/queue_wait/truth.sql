-- Per activity type: p50/p95 execution time (the work the driver injected into each completed attempt: a floor) and
-- p50/p95 queue wait (scheduled -> started of every attempt, as the payments and shipping workers recorded it).
WITH work AS (
    SELECT step, quantile_cont(work_ms, 0.5) AS work_p50_ms, quantile_cont(work_ms, 0.95) AS work_p95_ms
    FROM ground_truth_attempts
    WHERE outcome = 'completed'
    GROUP BY step
), waits AS (
    SELECT step, quantile_cont(queue_ms, 0.5) AS wait_p50_ms, quantile_cont(queue_ms, 0.95) AS wait_p95_ms
    FROM ground_truth_queue_waits
    GROUP BY step
)
SELECT * FROM work JOIN waits USING (step);
