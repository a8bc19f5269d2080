-- How long did order X take end to end? The driver's observed window: from just before it asked Temporal to start
-- the order to just after it saw the result. The run lies inside it; the start call and the result's delivery are
-- the part of the window that is not the order's.
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
SELECT order_id, (epoch_us(finished_at) - epoch_us(started_at)) / 1000.0 AS window_ms
FROM ground_truth;
