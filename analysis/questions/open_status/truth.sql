-- What was open order X's status at moment t? What the orders service's worker last recorded before t (its own
-- attempt ledger: the completed record_order_status attempt that ended last), at each moment the order was asked
-- about while the driver had started it and not yet seen its result. A moment inside a record_order_status attempt
-- (after its start, before its end, by the worker's clock) is not judged: the attempt writes the orders table and
-- then its log record before it ends, so at such a moment the new status may or may not be recorded yet, and the
-- ledger cannot tell which.
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, arg_max(w.status, w.ended_at) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN ground_truth g ON g.workflow_id = i.workflow_id
JOIN ground_truth_worker_attempts w
  ON w.workflow_id = i.workflow_id AND w.step = 'record_order_status' AND w.outcome = 'completed'
 AND w.ended_at <= i.moment
WHERE g.started_at <= i.moment AND (g.finished_at IS NULL OR i.moment < g.finished_at)
  AND NOT EXISTS (SELECT 1 FROM ground_truth_worker_attempts r
                  WHERE r.workflow_id = i.workflow_id AND r.step = 'record_order_status'
                    AND r.started_at <= i.moment AND i.moment < r.ended_at)
GROUP BY ALL;
