-- Which durable timers did order X start, and did each fire or get canceled? TimerStarted and what closed it.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
SELECT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id,
       CASE WHEN c.event_type = 'TimerFired' THEN 'fired' WHEN c.event_type = 'TimerCanceled' THEN 'canceled' END
           AS outcome
FROM history_events s
LEFT JOIN history_events c
  ON c.workflow_id = s.workflow_id AND c.run_id = s.run_id AND c.timer_id = s.timer_id
 AND c.event_type IN ('TimerFired', 'TimerCanceled')
WHERE s.event_type = 'TimerStarted' AND s.workflow_id LIKE 'order-%';
