-- Did order X complete, and with what final status? The last status the orders service logged for each order.
-- (arg_max_null: the latest row's value even where it is NULL, which arg_max would skip; a row without a time
-- counts as the oldest, as ordering by time put it last.)
SELECT f[1] AS order_id, arg_max_null(f[2], coalesce(time, '-infinity')) AS status
FROM (SELECT json_extract_string(attributes, ['order_id', 'status']) AS f, time
      FROM logs WHERE event = 'order status recorded')
GROUP BY f[1];
