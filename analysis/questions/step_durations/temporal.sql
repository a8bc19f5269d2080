-- How long did each completed step of order X take? From the last attempt's ActivityTaskStarted to its completion,
-- in the order's workflow and its invoice child.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
-- (A completion carries its scheduled event's activity_type, filled in by the export, so the completions are
-- narrowed by type as the started events are before they are matched.)
SELECT substr(s.workflow_id, strpos(s.workflow_id, '-') + 1) AS order_id,
       s.activity_type AS step,
       (epoch_us(c.event_time) - epoch_us(s.event_time)) / 1000.0 AS duration_ms
FROM history_events s
JOIN history_events c
  ON c.workflow_id = s.workflow_id AND c.run_id = s.run_id AND c.scheduled_event_id = s.scheduled_event_id
 AND c.event_type = 'ActivityTaskCompleted' AND c.activity_type <> 'record_order_status'
 AND (c.workflow_id LIKE 'order-%' OR c.workflow_id LIKE 'invoice-%')
WHERE s.event_type = 'ActivityTaskStarted' AND s.activity_type <> 'record_order_status'
  AND (s.workflow_id LIKE 'order-%' OR s.workflow_id LIKE 'invoice-%');
