-- How long did order X take end to end? From the row's created_at (the first status the workflow recorded) to its
-- updated_at (the last).
SELECT order_id,
       date_diff('microsecond', CAST(created_at AS TIMESTAMPTZ), CAST(updated_at AS TIMESTAMPTZ)) / 1000.0
           AS latency_ms
FROM app_orders;
