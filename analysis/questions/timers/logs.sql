-- Which durable timers did order X start, and did each fire or get canceled? Each 'timer started' record and the
-- 'timer fired' or 'timer canceled' record of the same timer id in the same run.
WITH timers AS (
    SELECT workflow_id, run_id, attributes->>'$."temporal.timer_id"' AS timer_id, event FROM logs
    WHERE event IN ('timer started', 'timer fired', 'timer canceled') AND workflow_id LIKE 'order-%'
)
SELECT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id,
       CASE c.event WHEN 'timer fired' THEN 'fired' WHEN 'timer canceled' THEN 'canceled' END AS outcome
FROM timers s
LEFT JOIN timers c ON c.workflow_id = s.workflow_id AND c.run_id = s.run_id AND c.timer_id = s.timer_id
 AND c.event IN ('timer fired', 'timer canceled')
WHERE s.event = 'timer started';
