-- How long did order X take end to end? From the row's created_at (the first status the workflow recorded) to its
-- updated_at (the last).
-- (Durations as epoch_us differences: date_diff's microseconds, without its calendar arithmetic.)
SELECT order_id,
       (epoch_us(CAST(updated_at AS TIMESTAMPTZ)) - epoch_us(CAST(created_at AS TIMESTAMPTZ))) / 1000.0
           AS latency_ms
FROM app_orders;
