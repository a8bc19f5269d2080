-- How long did each completed step of order X take? Between an attempt's 'activity started' and 'activity completed'.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
WITH ends AS (
    SELECT workflow_id, activity_id, attempt, time, activity_type AS step
    FROM logs WHERE event = 'activity completed'
), starts AS (
    -- (an attempt's start record names the activity type its end record names: both sides narrowed alike)
    SELECT workflow_id, activity_id, attempt, time FROM logs WHERE event = 'activity started'
      AND activity_type <> 'record_order_status' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
)
SELECT substr(e.workflow_id, strpos(e.workflow_id, '-') + 1) AS order_id,
       e.step,
       (epoch_us(e.time) - epoch_us(s.time)) / 1000.0 AS duration_ms
FROM ends e JOIN starts s USING (workflow_id, activity_id, attempt)
WHERE e.step <> 'record_order_status' AND (e.workflow_id LIKE 'order-%' OR e.workflow_id LIKE 'invoice-%');
