-- Has open order X waited for its payment confirmation longer than T at moment t? From the workers' own ledger: the
-- wait begins when the orders service finished recording 'awaiting_payment' and ends when the order's next step
-- (authorization or the expiry's compensation) starts; judged at every moment the order was asked about while it
-- was waiting and the driver had not yet seen its result.
WITH waits AS (
    SELECT w.workflow_id, w.ended_at AS since,
           (SELECT min(n.started_at) FROM ground_truth_worker_attempts n
            WHERE n.workflow_id = w.workflow_id AND n.step <> 'record_order_status' AND n.started_at > w.ended_at)
               AS until
    FROM ground_truth_worker_attempts w
    WHERE w.step = 'record_order_status' AND w.status = 'awaiting_payment' AND w.outcome = 'completed'
)
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment,
       date_diff('millisecond', w.since, i.moment) > $longer_than_ms AS longer
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN waits w ON w.workflow_id = i.workflow_id AND w.since <= i.moment AND (w.until IS NULL OR i.moment < w.until)
JOIN ground_truth g ON g.workflow_id = i.workflow_id
WHERE g.started_at <= i.moment AND (g.finished_at IS NULL OR i.moment < g.finished_at);
