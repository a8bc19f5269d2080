-- Which step is open order X waiting on or retrying at moment t, on which attempt, after what failure? From the
-- workers' own ledger: the order's latest activity attempt offered to workers by t (its scheduled time, as the worker
-- read it when it took the attempt up). Not ended by t (queued or running): that step and attempt.
-- Ended by t without completing, with a next attempt to come: that step, the next attempt (in backoff). The last
-- failure is the failed attempt's error as raised ('timed out' for an attempt the server timed out, and for one that
-- never ended on its worker, killed, yet was followed by another).
WITH a AS MATERIALIZED (
    -- `offer` numbers the rows once (materialized): the latest is picked by number and joined back,
    -- which is cheaper than carrying the whole row through the aggregate
    SELECT row_number() OVER () AS offer, *
    FROM (SELECT workflow_id, activity_id, step, attempt, coalesce(scheduled_at, started_at) AS offered_at, ended_at,
                 outcome, CASE WHEN outcome = 'failed' THEN error WHEN outcome IN ('timed_out', 'canceled')
                               THEN 'timed out' END AS failure
          FROM ground_truth_worker_attempts
          WHERE workflow_id LIKE 'order-%' AND started_at IS NOT NULL AND outcome IS NOT NULL
          UNION ALL
          -- an attempt that never ended: looked up apart, so the later-attempt check runs for these rows alone
          SELECT workflow_id, activity_id, step, attempt, coalesce(scheduled_at, started_at), ended_at, outcome,
                 CASE WHEN EXISTS (SELECT 1 FROM ground_truth_worker_attempts n WHERE n.workflow_id = w.workflow_id
                                     AND n.activity_id = w.activity_id AND n.attempt > w.attempt)
                      THEN 'timed out' END
          FROM ground_truth_worker_attempts w
          WHERE workflow_id LIKE 'order-%' AND started_at IS NOT NULL AND outcome IS NULL)
), latest AS (
    SELECT l.moment, c.*, c.ended_at IS NULL OR c.ended_at > l.moment AS running
    FROM (SELECT i.workflow_id, i.moment, arg_max(a.offer, a.offered_at) AS offer
          FROM (SELECT * FROM observed_instants WHERE api = 'describe') i
          JOIN a ON a.workflow_id = i.workflow_id AND a.offered_at <= i.moment
          JOIN ground_truth g ON g.workflow_id = i.workflow_id
          WHERE g.started_at <= i.moment AND (g.finished_at IS NULL OR i.moment < g.finished_at)
          GROUP BY ALL) l
    JOIN a c ON c.offer = l.offer
)
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END AS order_id, l.moment, l.step,
       l.attempt, p.failure AS last_failure
FROM latest l
LEFT JOIN a p ON p.workflow_id = l.workflow_id AND p.activity_id = l.activity_id AND p.attempt = l.attempt - 1
WHERE running
UNION ALL
-- ended without completing: the next attempt is looked up for these rows alone
SELECT CASE WHEN l.workflow_id LIKE 'order-%' THEN substr(l.workflow_id, 7) ELSE l.workflow_id END, l.moment, l.step,
       l.attempt + 1, l.failure
FROM latest l
-- (the previous attempt joined here too, so each row repeats as often as the ledger holds that attempt, as above)
LEFT JOIN a p ON p.workflow_id = l.workflow_id AND p.activity_id = l.activity_id AND p.attempt = l.attempt - 1
WHERE NOT running AND l.outcome <> 'completed'
  AND EXISTS (SELECT 1 FROM a n WHERE n.workflow_id = l.workflow_id AND n.activity_id = l.activity_id
              AND n.attempt = l.attempt + 1);
